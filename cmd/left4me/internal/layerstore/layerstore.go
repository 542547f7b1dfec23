// Package layerstore holds what the two stores of immutable layer
// versions below the state root have in common: the game installations
// (package versions) and the overlay builds (package ovbuild). Both lock
// their store with a flock, make renames durable, find the instances
// whose overlay is mounted (to tell which versions are in use), and
// delete old versions without ever following a link or descending into a
// mount.
package layerstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/treerm"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/layout"
)

// ErrLocked means another process holds the lock Lock tried to take.
var ErrLocked = errors.New("locked")

// Lock takes an exclusive flock on directory dir, creating it if missing.
// It does not wait: when another process holds the lock it fails with
// ErrLocked (unwrapped, for the caller to say who that is likely to be).
func Lock(dir string) (release func(), err error) {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}

// SyncDir fsyncs directory dir, making the renames in it durable.
func SyncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// Mounted lists, sorted, the instances below state root whose
// runtime/NAME/merged is a mount point.
func Mounted(root string) ([]string, error) {
	rt := filepath.Join(root, "runtime")
	ents, err := os.ReadDir(rt)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", rt, err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || layout.ValidateName(e.Name()) != nil {
			continue
		}
		m, err := prestart.IsMountPoint(filepath.Join(rt, e.Name(), "merged"))
		if err != nil {
			return nil, err
		}
		if m {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
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
