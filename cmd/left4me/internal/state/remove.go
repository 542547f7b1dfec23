package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// Keep names an entry of runtime/NAME that Remove leaves in place, and
// runtime/NAME with it.
type Keep struct {
	Name string
	// Dir keeps it only as a directory: the server may have put a link or
	// a file in its place, which goes with the rest (a link removed, never
	// followed) rather than being kept as what it is not.
	Dir bool
}

// Removed is what Remove found and did.
type Removed struct {
	Existed bool     // there was a runtime/NAME to remove
	Kept    []string // the names of keep that stayed
	// Dumps counts the entries of runtime/NAME/dumps (layout.Dumps) when
	// that was a directory: removed with it, or kept if Kept has it. An
	// operator is told of them, never loses them silently.
	Dumps int
}

// KeptName reports whether name is among r.Kept.
func (r Removed) KeptName(name string) bool { return slices.Contains(r.Kept, name) }

// Remove deletes root/runtime/NAME entirely (upper layer included) but
// the entries of keep. It refuses a symlinked runtime/ or runtime/NAME and
// anything still mounted at or below it. mountinfo is normally MountInfo.
// A reset keeps the instance's port record, layout.Ports (what its last
// start was given it still holds against newer specs), and its crash
// dumps, layout.Dumps (the evidence of its crashes, not part of what the
// server wrote to its game tree); a delete keeps nothing.
func Remove(root, name, mountinfo string, keep ...Keep) (Removed, error) {
	d := rundir.Of(layout.Layout{Root: root}, name)
	dir := d.Path
	if ok, err := Check(root, name); err != nil || !ok {
		return Removed{}, err
	}
	// The helpers' lock: a start racing us waits, then fails on the removed
	// directory, or (keep) finds it emptied, instead of mounting into a
	// half-deleted tree.
	fd, err := d.Lock(rundir.NoWait)
	if errors.Is(err, layout.ErrLocked) {
		return Removed{}, fmt.Errorf("%w: try again in a moment", err)
	}
	if err != nil {
		return Removed{}, fail.NeedsRoot(err, "removing runtime state")
	}
	defer unix.Close(fd)
	if err := checkUnmounted(dir, mountinfo); err != nil {
		return Removed{}, err
	}
	r := Removed{Existed: true}
	// Counted under the lock, the server stopped: what the message says is
	// what was kept or removed.
	if r.Dumps, err = countDumps(fd, dir); err != nil {
		return Removed{}, fail.NeedsRoot(err, "removing runtime state")
	}
	// The server wrote the tree: removed through descriptors, one at a
	// time whatever its depth, never following a link (fsat.RemoveTree).
	if len(keep) == 0 {
		err = fsat.RemoveTree(dir, fsat.RemoveOptions{})
	} else {
		r.Kept, err = removeAllBut(fd, dir, keep)
	}
	if err != nil {
		return Removed{}, fail.NeedsRoot(fmt.Errorf("remove %s: %w", dir, err), "removing runtime state")
	}
	return r, nil
}

// removeAllBut removes every entry of the open directory dirfd (path)
// except those of keep, and returns the names it kept.
func removeAllBut(dirfd int, path string, keep []Keep) ([]string, error) {
	names, err := fsat.ReadDirNames(dirfd)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", path, err)
	}
	var kept []string
	for _, n := range names {
		i := slices.IndexFunc(keep, func(k Keep) bool { return k.Name == n })
		if i >= 0 {
			ok, err := keepable(dirfd, n, keep[i])
			if err != nil {
				return kept, fmt.Errorf("stat %s: %w", fsat.Child(path, n), err)
			}
			if ok {
				kept = append(kept, n)
				continue
			}
		}
		if err := fsat.RemoveTreeAt(dirfd, n, fsat.Child(path, n), fsat.RemoveOptions{}); err != nil {
			return kept, err
		}
	}
	return kept, nil
}

// keepable reports whether name below dirfd is what k keeps: anything,
// or (k.Dir) a directory, looked at without following a link.
func keepable(dirfd int, name string, k Keep) (bool, error) {
	if !k.Dir {
		return true, nil
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// countDumps counts the entries of dumps below the open runtime/NAME dirfd
// (path), 0 when it is missing or not a directory (a link is not
// followed: it is no dumps directory, and goes as one).
func countDumps(dirfd int, path string) (int, error) {
	fd, err := openDir(dirfd, layout.Dumps, fsat.Child(path, layout.Dumps))
	if err != nil || fd < 0 {
		return 0, err
	}
	defer unix.Close(fd)
	n := 0
	if err := fsat.EachName(fd, func(string) { n++ }); err != nil {
		return 0, fmt.Errorf("list %s: %w", fsat.Child(path, layout.Dumps), err)
	}
	return n, nil
}

// openDir opens directory name below dirfd without following a link
// (crossing into a mount is fair: a runtime/NAME may be a filesystem of
// its own), -1 and no error when there is none: missing, a link or not a
// directory.
func openDir(dirfd int, name, what string) (int, error) {
	fd, err := fsat.OpenBeneath(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY, fsat.ResolveStrict, what)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("open %w", err)
	}
	return fd, nil
}

// Dumps counts the crash dumps in root/runtime/NAME/dumps, for a question
// asked before anything is stopped (Remove counts again under the lock).
// Nothing is followed: a link in place of runtime/NAME or of its dumps
// counts none.
func Dumps(root, name string) (int, error) {
	d := rundir.Of(layout.Layout{Root: root}, name)
	rt, err := unix.Open(filepath.Dir(d.Path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", filepath.Dir(d.Path), err)
	}
	defer unix.Close(rt)
	fd, err := openDir(rt, name, d.Path)
	if err != nil || fd < 0 {
		return 0, err
	}
	defer unix.Close(fd)
	return countDumps(fd, d.Path)
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
