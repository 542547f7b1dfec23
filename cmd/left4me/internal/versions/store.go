// Package versions keeps the game installations below the state root as
// versions that never change once complete: installations/ID/, with
// `installation` a relative symlink to the current one, switched by
// rename(2). A new version is built in an overlayfs over the current one,
// so that nothing steamcmd does can reach a file a running server reads,
// and then made standalone with hard links to the files it did not
// change (see stage.go and fill.go).
package versions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"

	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
)

// Names below the state root.
const (
	Dir  = layout.InstallationsName // holds the versions
	Link = layout.InstallationLink  // the current version (prestart's bottom layer)
	// Marker is a file made fresh in each version's root holding its ID.
	// Its inode is unique to the version (never hard-linked), which tells
	// which version an instance's overlay was mounted from.
	Marker = ".left4me-version"

	stagingPrefix = ".staging-" // a version being built, in Dir
	trashPrefix   = ".trash-"   // a version being removed, in Dir
	linkTmpPrefix = ".installation-new-"
)

// ErrBusy means another update or gc holds the lock.
var ErrBusy = errors.New("another left4me game update or gc is running")

// Store is the state root's installations.
type Store struct{ Root string }

// Dir is ROOT/installations.
func (s Store) Dir() string { return filepath.Join(s.Root, Dir) }

// Path is the directory of version id.
func (s Store) Path(id string) string { return filepath.Join(s.Root, Dir, id) }

// LinkPath is ROOT/installation.
func (s Store) LinkPath() string { return filepath.Join(s.Root, Link) }

// Current describes what ROOT/installation is.
type Current struct {
	ID     string // the version it links to; "" if none or legacy
	Legacy bool   // a plain directory (installed by hand, before versions)
	Path   string // the directory it resolves to; "" if there is none
}

// None reports that there is no installation at all.
func (c Current) None() bool { return c.Path == "" }

// Current reads ROOT/installation. A link must be installations/ID, the
// only form this package writes and prestart's RESOLVE_BENEATH accepts.
func (s Store) Current() (Current, error) {
	link := s.LinkPath()
	st, err := os.Lstat(link)
	if errors.Is(err, fs.ErrNotExist) {
		return Current{}, nil
	}
	if err != nil {
		return Current{}, fmt.Errorf("installation: %w", err)
	}
	switch {
	case st.IsDir():
		return Current{Legacy: true, Path: link}, nil
	case st.Mode()&fs.ModeSymlink == 0:
		return Current{}, fmt.Errorf("%s is neither a directory nor a symbolic link; move it away", link)
	}
	target, err := os.Readlink(link)
	if err != nil {
		return Current{}, fmt.Errorf("installation: %w", err)
	}
	id, ok := strings.CutPrefix(target, Dir+"/")
	if !ok || !ValidID(id) {
		return Current{}, fmt.Errorf("%s -> %s: not a link to %s/ID; left4me manages only its own versions (remove the link, or point it at %s/ID)", link, target, Dir, Dir)
	}
	p := s.Path(id)
	if st, err := os.Lstat(p); err != nil || !st.IsDir() {
		return Current{ID: id}, fmt.Errorf("%s -> %s: the version directory is missing or not a directory", link, target)
	}
	return Current{ID: id, Path: p}, nil
}

var idRE = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{8}T[0-9]{6}Z(-[0-9]{1,3})?$`)

// ValidID reports whether id has the form BUILD-YYYYMMDDTHHMMSSZ[-N].
func ValidID(id string) bool { return idRE.MatchString(id) }

const stamp = "20060102T150405Z"

// NewID names a new version of build made at t, unique in the store.
func (s Store) NewID(build string, t time.Time) string {
	base := build + "-" + t.UTC().Format(stamp)
	id := base
	for n := 2; ; n++ {
		if _, err := os.Lstat(s.Path(id)); errors.Is(err, fs.ErrNotExist) {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// Made is when version id was made, from its name.
func Made(id string) time.Time {
	_, rest, _ := strings.Cut(id, "-")
	t, _ := time.Parse(stamp, strings.SplitN(rest, "-", 2)[0])
	return t
}

// Version is one installed version.
type Version struct {
	ID       string // "" for the legacy directory
	Path     string
	Legacy   bool
	Current  bool
	Manifest steamcmd.Manifest
	// ManifestErr says why the build is unknown (no or a bad manifest).
	ManifestErr error
}

// Name is the ID, or "installation (unversioned)" for a legacy directory.
func (v Version) Name() string {
	if v.Legacy {
		return Link + " (unversioned)"
	}
	return v.ID
}

// List returns the versions, oldest first, and the legacy directory (if
// `installation` is one) last.
func (s Store) List() ([]Version, Current, error) {
	cur, err := s.Current()
	if err != nil {
		return nil, cur, err
	}
	ents, err := os.ReadDir(s.Dir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, cur, fmt.Errorf("list %s: %w", s.Dir(), err)
	}
	var out []Version
	for _, e := range ents {
		if !e.IsDir() || !ValidID(e.Name()) {
			continue
		}
		v := Version{ID: e.Name(), Path: s.Path(e.Name()), Current: e.Name() == cur.ID}
		v.Manifest, v.ManifestErr = steamcmd.ReadManifest(v.Path)
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		ti, tj := Made(out[i].ID), Made(out[j].ID)
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return out[i].ID < out[j].ID
	})
	if cur.Legacy {
		v := Version{Path: cur.Path, Legacy: true, Current: true}
		v.Manifest, v.ManifestErr = steamcmd.ReadManifest(v.Path)
		out = append(out, v)
	}
	return out, cur, nil
}

// Lock takes the store's lock (a flock on installations/, created if
// missing): one update or gc at a time. It fails at once with ErrBusy.
func (s Store) Lock() (release func(), err error) {
	release, err = layout.TryLockMkdir(s.Dir())
	if errors.Is(err, layout.ErrLocked) {
		return nil, fmt.Errorf("%w: %w; try again when it is done", ErrBusy, err)
	}
	return release, err
}

// CleanStale removes what an interrupted update or gc left in the store:
// staging and trash directories (unmounting a staging overlay first) and
// temporary links. Call it with the lock held.
func (s Store) CleanStale() ([]string, error) {
	var removed []string
	ents, err := os.ReadDir(s.Dir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", s.Dir(), err)
	}
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, stagingPrefix) && !strings.HasPrefix(n, trashPrefix) {
			continue
		}
		p := filepath.Join(s.Dir(), n)
		if err := unmountAll(filepath.Join(p, "merged")); err != nil {
			return removed, err
		}
		if err := fsat.RemoveTree(p, fsat.RemoveOptions{}); err != nil {
			return removed, err
		}
		removed = append(removed, p)
	}
	tmps, _ := filepath.Glob(filepath.Join(s.Root, linkTmpPrefix+"*"))
	for _, p := range tmps {
		if err := os.Remove(p); err != nil {
			return removed, fmt.Errorf("remove %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}
