package ovbuild

import (
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

// Remove deletes an old version (never the current one).
func (s Store) Remove(name string, v Version) error {
	if v.Current || !ValidID(v.ID) || v.Path != s.Old(name, v.ID) {
		return fmt.Errorf("refusing to remove %s", v.Path)
	}
	trash := filepath.Join(s.Dir(name), buildPrefix+"trash-"+v.ID)
	if err := os.Rename(v.Path, trash); err != nil {
		return fmt.Errorf("move %s to %s: %w", v.Path, trash, err)
	}
	return fsat.RemoveTree(trash, fsat.RemoveOptions{Chmod: true})
}
