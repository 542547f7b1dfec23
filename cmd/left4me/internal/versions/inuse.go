package versions

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/left4me/left4me/prestart/fsat"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/layerstore"
	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// Use is a mounted instance and the version it runs on.
type Use struct {
	Instance string
	Version  string // a Version.Name(); "" when it cannot be told
	How      string // how it was found, or why not
	// Denied: the instance's runtime directory is not ours to read (it is
	// root's, 0700): the version is unknown to this user only.
	Denied bool
}

// Mounted lists the instances whose runtime/NAME/merged is mounted.
func (s Store) Mounted() ([]string, error) { return rundir.MountedAll(s.layout()) }

func (s Store) layout() layout.Layout { return layout.Layout{Root: s.Root} }

// InUse tells for every mounted instance which of vs it runs on:
//
//  1. from the start helper's record (layout.Record), when there is one;
//  2. else by the inode of the version's Marker seen through the
//     instance's overlay: when all layers are on one filesystem overlayfs
//     reports a lower file's own inode number, and each version's marker
//     is a file of its own;
//  3. else (a version made before markers, or by hand) by the inode of
//     its app manifest, which steamcmd rewrites on every update.
//
// A match must be unique; otherwise the version is unknown.
func (s Store) InUse(vs []Version) ([]Use, error) {
	names, err := s.Mounted()
	if err != nil {
		return nil, err
	}
	markers, manifests := inodes(vs, Marker), inodes(vs, steamcmd.ManifestPath)
	var out []Use
	for _, n := range names {
		u := Use{Instance: n}
		merged := rundir.Of(s.layout(), n).Part(layout.Merged)
		if v, ok := s.recorded(n, vs); ok {
			u.Version, u.How = v, "recorded at start"
		} else if v, err := byInode(merged, Marker, markers); v != "" {
			u.Version, u.How = v, "version marker"
		} else if errors.Is(err, fs.ErrPermission) {
			// runtime/NAME is root's (0700): the start record in it was as
			// unreadable as the mount.
			u.Denied, u.How = true, "permission denied reading "+filepath.Dir(merged)
		} else if v, _ := byInode(merged, steamcmd.ManifestPath, manifests); v != "" {
			u.Version, u.How = v, "app manifest"
		} else {
			u.How = "no record from the start helper, and no version's marker or app manifest is visible in " + merged
		}
		out = append(out, u)
	}
	return out, nil
}

// recorded reads the start helper's record of instance name.
func (s Store) recorded(name string, vs []Version) (string, bool) {
	rec, ok := rundir.Of(s.layout(), name).ReadRecord()
	if !ok {
		return "", false
	}
	rec = strings.TrimPrefix(rec, Dir+"/")
	for _, v := range vs {
		if (v.Legacy && rec == Link) || (!v.Legacy && rec == v.ID) {
			return v.Name(), true
		}
	}
	return "", false
}

// inodes maps the inode number of rel in each version to the versions
// that have it.
func inodes(vs []Version, rel string) map[uint64][]string {
	m := map[uint64][]string{}
	for _, v := range vs {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(v.Path, rel), &st); err == nil {
			m[st.Ino] = append(m[st.Ino], v.Name())
		}
	}
	return m
}

// byInode is the version of m whose rel has the inode merged's rel has;
// "" when none or several, err when merged's rel cannot be seen.
func byInode(merged, rel string, m map[uint64][]string) (string, error) {
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(merged, rel), &st); err != nil {
		return "", err
	}
	if vs := m[st.Ino]; len(vs) == 1 {
		return vs[0], nil
	}
	return "", nil
}

// Plan is what gc would do.
type Plan = layerstore.Plan[Version]

// Kept is a version gc keeps, and why.
type Kept = layerstore.Kept[Version]

// ErrUnknownUse means a mounted instance's version could not be told, so
// no version may be removed.
var ErrUnknownUse = errors.New("cannot tell which version a running instance uses")

// PlanGC keeps the current version and every version a mounted instance
// runs on, and removes the others. It refuses when any mounted instance's
// version is unknown: that instance could be on any of them.
func PlanGC(vs []Version, uses []Use) (Plan, error) {
	var unknown []string
	users := map[string][]string{}
	for _, u := range uses {
		if u.Version == "" {
			unknown = append(unknown, u.Instance+" ("+u.How+")")
			continue
		}
		users[u.Version] = append(users[u.Version], u.Instance)
	}
	if len(unknown) > 0 {
		return Plan{}, fmt.Errorf("%w: %s; nothing was removed: restart those instances (left4me restart --all) and run gc again", ErrUnknownUse, strings.Join(unknown, ", "))
	}
	var p Plan
	for _, v := range vs {
		p.Add(v, layerstore.KeepReason(v.Current, users[v.Name()]))
	}
	return p, nil
}

// Trash moves a version out of the way under a name no start or listing
// picks up; EmptyTrash then deletes it. Never the legacy directory.
func (s Store) Trash(v Version) error {
	if v.Legacy || !ValidID(v.ID) {
		return fmt.Errorf("refusing to remove %s", v.Path)
	}
	dst := filepath.Join(s.Dir(), trashPrefix+v.ID)
	if err := os.Rename(v.Path, dst); err != nil {
		return fmt.Errorf("move %s to %s: %w", v.Path, dst, err)
	}
	return nil
}

// EmptyTrash deletes the trashed versions.
func (s Store) EmptyTrash() error {
	ps, _ := filepath.Glob(filepath.Join(s.Dir(), trashPrefix+"*"))
	var errs []error
	for _, p := range ps {
		errs = append(errs, fsat.RemoveTree(p, fsat.RemoveOptions{}))
	}
	return errors.Join(errs...)
}

// LockInstances takes the start helpers' lock of every instance, waiting
// up to ctx's deadline for starts and stops in progress, so that no start
// resolves and mounts a version while gc decides. release gives them back.
func (s Store) LockInstances(ctx context.Context) (release func(), err error) {
	return rundir.LockAll(ctx, s.layout())
}
