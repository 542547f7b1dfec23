package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// Remove deletes root/runtime/NAME entirely (upper layer included) and
// reports whether there was anything. It refuses a symlinked runtime/ or
// runtime/NAME and anything still mounted at or below it. mountinfo is
// normally MountInfo. keep, unless "", names one entry of runtime/NAME
// that stays, and runtime/NAME with it (a reset keeps the instance's
// port record, layout.Ports: what its last start was given it still
// holds against newer specs).
func Remove(root, name, mountinfo, keep string) (bool, error) {
	d := rundir.Of(layout.Layout{Root: root}, name)
	dir := d.Path
	if ok, err := Check(root, name); err != nil || !ok {
		return false, err
	}
	// The helpers' lock: a start racing us waits, then fails on the removed
	// directory, or (keep) finds it emptied, instead of mounting into a
	// half-deleted tree.
	fd, err := d.Lock(rundir.NoWait)
	if errors.Is(err, layout.ErrLocked) {
		return false, fmt.Errorf("%w: try again in a moment", err)
	}
	if err != nil {
		return false, fail.NeedsRoot(err, "removing runtime state")
	}
	defer unix.Close(fd)
	if err := checkUnmounted(dir, mountinfo); err != nil {
		return false, err
	}
	// The server wrote the tree: removed through descriptors, one at a
	// time whatever its depth, never following a link (fsat.RemoveTree).
	if keep == "" {
		err = fsat.RemoveTree(dir, fsat.RemoveOptions{})
	} else {
		err = removeAllBut(fd, dir, keep)
	}
	if err != nil {
		return false, fail.NeedsRoot(fmt.Errorf("remove %s: %w", dir, err), "removing runtime state")
	}
	return true, nil
}

// removeAllBut removes every entry of the open directory dirfd (path)
// except keep.
func removeAllBut(dirfd int, path, keep string) error {
	names, err := fsat.ReadDirNames(dirfd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == keep {
			continue
		}
		if err := fsat.RemoveTreeAt(dirfd, n, filepath.Join(path, n), fsat.RemoveOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// Check reports whether root/runtime/NAME exists, refusing (with an error)
// a symlink or non-directory in place of runtime/ or runtime/NAME.
func Check(root, name string) (bool, error) {
	d := rundir.Of(layout.Layout{Root: root}, name)
	for _, p := range []string{filepath.Dir(d.Path), d.Path} {
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fail.NeedsRoot(fmt.Errorf("stat %s: %w", p, err), "removing runtime state")
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			return false, fmt.Errorf("refusing to remove %s: it is a symbolic link; remove the link by hand if it is meant to go", p)
		}
		if !st.IsDir() {
			return false, fmt.Errorf("refusing to remove %s: not a directory; move it away by hand", p)
		}
	}
	return true, nil
}

func checkUnmounted(dir, mountinfo string) error {
	real, err := filepath.EvalSymlinks(dir) // mountinfo shows resolved paths
	if err != nil {
		return fmt.Errorf("resolve %s: %w", dir, err)
	}
	mounts, err := MountsUnder(mountinfo, real)
	if err != nil {
		return err
	}
	for _, p := range []string{dir, filepath.Join(dir, layout.Merged)} {
		if m, err := fsat.IsMountPoint(p); err != nil {
			return err
		} else if m {
			mounts = append(mounts, p)
		}
	}
	if len(mounts) > 0 {
		return fmt.Errorf("%w: %s; stop the instance first, or unmount by hand (umount %s)", fail.ErrMounted, strings.Join(mounts, ", "), mounts[0])
	}
	return nil
}
