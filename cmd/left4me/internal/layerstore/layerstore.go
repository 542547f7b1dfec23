// Package layerstore holds what the two stores of immutable layer
// versions below the state root have in common: the game installations
// (package versions) and the overlay builds (package ovbuild). Both lock
// their store with a flock and delete old versions
// without ever following a link or descending into a mount.
package layerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/left4me/left4me/cmd/left4me/internal/dirlock"
	"github.com/left4me/left4me/cmd/left4me/internal/treerm"
)

// ErrLocked means another process holds the lock Lock tried to take.
var ErrLocked = dirlock.ErrLocked

// Lock takes an exclusive flock on directory dir, creating it if missing.
// It does not wait: when another process holds the lock it fails with a
// *dirlock.HeldError (matching ErrLocked) naming that process.
func Lock(dir string) (release func(), err error) {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return dirlock.Try(dir)
}

// RemoveTree deletes path and everything below it without following links
// and without entering another filesystem: a mount below it is an error,
// never emptied (os.RemoveAll would descend into it). A missing path is
// not an error. Every step is relative to a directory descriptor (package
// treerm), so a writer racing the removal cannot redirect it.
func RemoveTree(path string) error { return treerm.Remove(path, treerm.Options{}) }

// RemoveTreeWritable is RemoveTree for a tree an unprivileged builder
// made: it first gives each directory mode 0700, through its descriptor.
func RemoveTreeWritable(path string) error { return treerm.Remove(path, treerm.Options{Chmod: true}) }
