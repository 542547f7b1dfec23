package ovbuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/left4me/left4me/prestart/fsat"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/layerstore"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// Use is a mounted instance that shows overlay Name, and on which version.
type Use struct {
	Instance string
	Overlay  string
	Version  string // a Version.Name(); "" when it cannot be told
	// Denied: its tree could not be looked into (runtime/NAME is root's,
	// 0700, and this is not root), so Version is "".
	Denied bool
}

// InUse finds, for every mounted instance (runtime/NAME/merged is a mount
// point), the version of overlay name it runs on: the inode of the
// version's marker as seen through the instance's overlay. With all layers
// on one filesystem overlayfs reports a lower file's own inode, and each
// marker is a file of its own. A hand-made directory has no marker: a
// mounted instance among users (those whose spec names the overlay) that
// shows no marker runs on it. Other instances that show no marker do not
// use the overlay; one showing a marker of no known version is reported
// with Version "".
func (s Store) InUse(name string, vs []Version, users []string) ([]Use, error) {
	marks := map[uint64]string{}
	unversioned := ""
	for _, v := range vs {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(v.Path, Marker(name)), &st); err == nil {
			marks[st.Ino] = v.Name()
		} else if v.ID == "" {
			unversioned = v.Name()
		}
	}
	mounted, err := s.Mounted()
	if err != nil {
		return nil, err
	}
	var out []Use
	for _, inst := range mounted {
		var st unix.Stat_t
		err := unix.Lstat(filepath.Join(rundir.Of(s.layout(), inst).Part(layout.Merged), Marker(name)), &st)
		switch {
		case err == nil:
			out = append(out, Use{Instance: inst, Overlay: name, Version: marks[st.Ino]})
		case errors.Is(err, unix.EACCES):
			// It may run on any version: gc keeps them all, status says why.
			out = append(out, Use{Instance: inst, Overlay: name, Denied: true})
		case unversioned != "" && slices.Contains(users, inst):
			out = append(out, Use{Instance: inst, Overlay: name, Version: unversioned})
		}
	}
	return out, nil
}

// Mounted lists the instances whose runtime/NAME/merged is mounted.
func (s Store) Mounted() ([]string, error) { return rundir.MountedAll(s.layout()) }

func (s Store) layout() layout.Layout { return layout.Layout{Root: s.Root, ConfigDir: s.ConfigDir} }

// Plan is what gc does with one overlay's versions.
type Plan = layerstore.Plan[Version]

// Kept is a version gc keeps, and why.
type Kept = layerstore.Kept[Version]

// PlanGC keeps the current version and every version a mounted instance
// runs on. When a mounted instance shows a marker of no known version it
// could be on any of them, so every version is kept.
func PlanGC(vs []Version, uses []Use) Plan {
	users := map[string][]string{}
	var unknown []string
	for _, u := range uses {
		if u.Version == "" {
			unknown = append(unknown, u.Instance)
			continue
		}
		users[u.Version] = append(users[u.Version], u.Instance)
	}
	var p Plan
	for _, v := range vs {
		why := layerstore.KeepReason(v.Current, users[v.Name()])
		if why == "" && len(unknown) > 0 {
			why = "cannot tell the version " + strings.Join(unknown, ", ") + " runs on; restart it and run gc again"
		}
		p.Add(v, why)
	}
	return p
}

// trashPrefix names a version gc took out of use and deletes next.
const trashPrefix = buildPrefix + "trash-"

// Trash moves an old version (never the current one) out of the store's
// versions, under the name EmptyTrash deletes. It is a rename, so gc may
// do it under every instance's lock and delete after giving them back: a
// start never waits for a version's files to be deleted.
func (s Store) Trash(name string, v Version) error {
	if v.Current || !ValidID(v.ID) || v.Path != s.Old(name, v.ID) {
		return fmt.Errorf("refusing to remove %s", v.Path)
	}
	trash := filepath.Join(s.Dir(name), trashPrefix+v.ID)
	if err := os.Rename(v.Path, trash); err != nil {
		return fmt.Errorf("move %s to %s: %w", v.Path, trash, err)
	}
	return nil
}

// EmptyTrash deletes the versions of overlay name that Trash moved, and
// those an interrupted gc left, and says which it deleted.
func (s Store) EmptyTrash(name string) ([]string, error) {
	ps, _ := filepath.Glob(filepath.Join(s.Dir(name), trashPrefix+"*"))
	var done []string
	var errs []error
	for _, p := range ps {
		if err := fsat.RemoveTree(p, fsat.RemoveOptions{Chmod: true}); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, strings.TrimPrefix(filepath.Base(p), trashPrefix))
	}
	return done, errors.Join(errs...)
}

// GCResult is what gc did with one overlay's versions.
type GCResult struct {
	Name    string
	Kept    []Kept   // versions other than the current one, and why
	Removed []string // ids removed, or that a dry run would remove
}

// GCEnv is what GC needs from its caller.
type GCEnv struct {
	// Users are the instances whose spec names an overlay.
	Users func(name string) []string
	// LockInstances takes every instance's start lock (the start helper
	// holds runtime/NAME locked from opening the layers to mounting), so
	// that no start opens a version while gc decides.
	LockInstances func(context.Context) (release func(), err error)
}

// GC removes the versions of the overlays names that are not current and
// that no mounted instance runs on. It decides and moves them out of use
// holding the builds' lock and every instance's lock, then gives the
// instances' locks back and deletes: deleting a version of many gigabytes
// takes minutes, and no start (a crashed server's restart among them)
// waits for it. A dry run takes no lock and changes nothing.
func (s Store) GC(ctx context.Context, names []string, env GCEnv, dry bool) ([]GCResult, error) {
	if dry {
		return s.planGC(names, env.Users, true)
	}
	release, err := s.Lock()
	if err != nil {
		return nil, err
	}
	defer release()
	unlock, err := env.LockInstances(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.planGC(names, env.Users, false)
	unlock()
	errs := []error{err}
	for i := range res {
		ids, err := s.EmptyTrash(res[i].Name)
		res[i].Removed = ids
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// planGC says what gc keeps and, unless dry, trashes the rest.
func (s Store) planGC(names []string, users func(string) []string, dry bool) ([]GCResult, error) {
	var out []GCResult
	var errs []error
	for _, n := range names {
		vs, err := s.List(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uses, err := s.InUse(n, vs, users(n))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p := PlanGC(vs, uses)
		r := GCResult{Name: n}
		for _, k := range p.Keep {
			if !k.Version.Current {
				r.Kept = append(r.Kept, k)
			}
		}
		for _, v := range p.Remove {
			if dry {
				r.Removed = append(r.Removed, v.ID)
			} else if err := s.Trash(n, v); err != nil {
				errs = append(errs, err)
			}
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}
