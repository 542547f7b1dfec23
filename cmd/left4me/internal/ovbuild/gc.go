package ovbuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec"
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
// marker is a file of its own. An instance whose overlay does not show the
// marker does not use the overlay; one showing a marker of no known
// version is reported with Version "".
func (s Store) InUse(name string, vs []Version) ([]Use, error) {
	marks := map[uint64]string{}
	for _, v := range vs {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(v.Path, Marker(name)), &st); err == nil {
			marks[st.Ino] = v.Name()
		}
	}
	mounted, err := s.Mounted()
	if err != nil {
		return nil, err
	}
	var out []Use
	for _, inst := range mounted {
		var st unix.Stat_t
		err := unix.Lstat(filepath.Join(s.Root, "runtime", inst, "merged", Marker(name)), &st)
		if err != nil {
			continue
		}
		out = append(out, Use{Instance: inst, Overlay: name, Version: marks[st.Ino]})
	}
	return out, nil
}

// Mounted lists the instances whose runtime/NAME/merged is mounted.
func (s Store) Mounted() ([]string, error) {
	rt := filepath.Join(s.Root, "runtime")
	ents, err := os.ReadDir(rt)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", rt, err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || spec.ValidateName(e.Name()) != nil {
			continue
		}
		m, err := isMountPoint(filepath.Join(rt, e.Name(), "merged"))
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

// Plan is what gc does with one overlay's versions.
type Plan struct {
	Remove []Version
	Keep   []Kept
}

// Kept is a version gc keeps, and why.
type Kept struct {
	Version Version
	Reason  string
}

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
		switch {
		case v.Current:
			p.Keep = append(p.Keep, Kept{v, "current"})
		case len(users[v.Name()]) > 0:
			p.Keep = append(p.Keep, Kept{v, "in use by " + strings.Join(users[v.Name()], ", ")})
		case len(unknown) > 0:
			p.Keep = append(p.Keep, Kept{v, "cannot tell the version " + strings.Join(unknown, ", ") + " runs on; restart it and run gc again"})
		default:
			p.Remove = append(p.Remove, v)
		}
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
	return removeTree(trash)
}

// removeTree deletes path and everything below it without following links
// and without entering another filesystem (a mount below is an error).
func removeTree(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return removeBelow(path, st.Sys().(*syscall.Stat_t).Dev, st)
}

func removeBelow(path string, dev uint64, st fs.FileInfo) error {
	if st.IsDir() {
		if st.Sys().(*syscall.Stat_t).Dev != dev {
			return fmt.Errorf("refusing to remove %s: another filesystem is mounted there", path)
		}
		if m, err := isMountPoint(path); err != nil {
			return err
		} else if m {
			return fmt.Errorf("refusing to remove %s: it is a mount point", path)
		}
		// A directory left without write permission (chmod by a builder).
		_ = os.Chmod(path, 0o700)
		ents, err := os.ReadDir(path)
		if err != nil {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		for _, e := range ents {
			p := filepath.Join(path, e.Name())
			cst, err := os.Lstat(p)
			if err != nil {
				return fmt.Errorf("remove %s: %w", p, err)
			}
			if err := removeBelow(p, dev, cst); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func isMountPoint(path string) (bool, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, 0, &stx)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	return stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}
