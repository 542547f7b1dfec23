// RemoveTree removes directory trees that others wrote (an overlay
// builder's layer, a server's upper layer) as root without ever acting on
// a path: every step is relative to a directory descriptor opened with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV), entries are
// examined with fstatat(AT_SYMLINK_NOFOLLOW) and removed with unlinkat,
// which never follows a link. A writer that swaps a directory for a link
// while the removal runs gets an error, never root deleting or chmodding
// the link's target. One descriptor is open at a time whatever the depth
// (no "too many open files"), and no path is ever longer than a name (no
// ENAMETOOLONG below PATH_MAX-deep trees): going back up reopens ".." and
// checks it is the directory it came from.

package fsat

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// RemoveOptions of RemoveTree.
type RemoveOptions struct {
	// Chmod gives every directory mode 0700 before emptying it (a tree an
	// unprivileged builder made may lack write permission for its owner;
	// root needs none, but a tree handed back to that user should not
	// keep directories it cannot empty).
	Chmod bool
}

// ErrChanged: the tree was changed under the removal in a way that could
// redirect it (a directory replaced or moved).
var ErrChanged = errors.New("the tree changed while it was being removed; stop whatever writes there and try again")

// ErrMounted: a mount point or another filesystem inside the tree.
var ErrMounted = errors.New("a mount point is inside it (umount it first)")

const resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS

// RemoveTree deletes path and everything below it. path's parent directory is
// trusted (it belongs to root); path itself may be anything. A missing path
// is not an error; a link at path is removed, never followed.
func RemoveTree(path string, o RemoveOptions) error {
	parent, err := unix.Open(filepath.Dir(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	defer unix.Close(parent)
	return RemoveTreeAt(parent, filepath.Base(path), path, o)
}

// RemoveTreeAt is RemoveTree of name below the open directory dir; what names it
// in errors.
func RemoveTreeAt(dir int, name, what string, o RemoveOptions) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return fmt.Errorf("remove %s: %w", what, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unlink(dir, name, 0, what)
	}
	if err := checkMount(dir, name, st.Dev, what); err != nil {
		return err
	}
	w := walker{top: what, o: o, dev: st.Dev}
	if err := w.empty(dir, name); err != nil {
		return err
	}
	return unlink(dir, name, unix.AT_REMOVEDIR, what)
}

// frame is a directory on the way down: its identity, the name of the
// subdirectory being emptied below it (removed once empty), and its
// subdirectories still to empty after that one.
type frame struct {
	dev, ino uint64
	name     string
	pending  []string
}

type walker struct {
	top  string
	o    RemoveOptions
	dev  uint64
	seen int // entries listed, for the tests: each at most twice (linear)
}

// empty removes everything below dir/name, depth first, with one
// descriptor open at a time. Each directory is listed once on the way
// down and once more when its subdirectories are done (something may
// have been added meanwhile): a directory of N subdirectories costs O(N),
// not a listing per subdirectory (a server's upper layer can hold 100,000
// of them; listed again each time, that took hours).
func (w *walker) empty(dir int, name string) error {
	fd, err := w.open(dir, name)
	if err != nil {
		return err
	}
	var path []frame     // the directories above fd, below the top one
	var pending []string // fd's subdirectories still to empty; none: list it
	for {
		if len(pending) == 0 {
			if pending, err = w.clearFiles(fd); err != nil {
				unix.Close(fd)
				return err
			}
		}
		if len(pending) > 0 { // go down into the next subdirectory
			sub := pending[0]
			pending = pending[1:]
			id, err := identity(fd)
			if err == nil {
				var child int
				child, err = w.open(fd, sub)
				if errors.Is(err, unix.ENOENT) {
					continue // gone since it was listed
				}
				if err == nil {
					unix.Close(fd)
					fd = child
					path = append(path, frame{id.dev, id.ino, sub, pending})
					pending = nil
					continue
				}
			}
			unix.Close(fd)
			return err
		}
		// fd is empty: go back up, then remove it there.
		if len(path) == 0 {
			unix.Close(fd)
			return nil
		}
		// Not openat2: RESOLVE_BENEATH refuses "..". What ".." is now is
		// checked against what was above on the way down.
		up, err := unix.Openat(fd, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("remove below %s: %w", w.top, err)
		}
		top := path[len(path)-1]
		path = path[:len(path)-1]
		if id, err := identity(up); err != nil || id.dev != top.dev || id.ino != top.ino {
			unix.Close(up)
			return fmt.Errorf("remove below %s: %w", w.top, ErrChanged)
		}
		if err := unlink(up, top.name, unix.AT_REMOVEDIR, w.where(path, top.name)); err != nil {
			unix.Close(up)
			return err
		}
		fd, pending = up, top.pending
	}
}

// clearFiles removes every non-directory entry of fd and returns the
// names of its subdirectories.
func (w *walker) clearFiles(fd int) ([]string, error) {
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		return nil, fmt.Errorf("remove below %s: %w", w.top, err)
	}
	names, err := ReadDirNames(fd)
	if err != nil {
		return nil, fmt.Errorf("remove below %s: %w", w.top, err)
	}
	w.seen += len(names)
	var subs []string
	for _, n := range names {
		what := Child(w.top+"/…", n)
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); errors.Is(err, unix.ENOENT) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("remove %s: %w", what, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if err := checkMount(fd, n, w.dev, what); err != nil {
				return nil, err
			}
			subs = append(subs, n)
			continue
		}
		if err := unlink(fd, n, 0, what); err != nil {
			return nil, err
		}
	}
	return subs, nil
}

// open opens a directory below dir, refusing links, mounts and escapes,
// and gives it mode 0700 if asked.
func (w *walker) open(dir int, name string) (int, error) {
	fd, err := OpenDir(dir, name)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) || errors.Is(err, unix.ENOTDIR) {
		return -1, fmt.Errorf("remove %s: %w (%v)", Child(w.top+"/…", name), ErrChanged, err)
	}
	if err != nil {
		return -1, fmt.Errorf("remove %s: %w", Child(w.top+"/…", name), err)
	}
	if w.o.Chmod {
		_ = unix.Fchmod(fd, 0o700)
	}
	return fd, nil
}

func (w *walker) where(path []frame, name string) string {
	if len(path) == 0 {
		return Child(w.top, name)
	}
	return Child(w.top+"/…", name)
}

// OpenDir opens directory name below dir through a descriptor: no link
// followed, no other mount, nothing outside dir (openat2 with
// RESOLVE_BENEATH, NO_SYMLINKS, NO_XDEV), retrying on EINTR/EAGAIN. Every
// walker of trees others wrote (removal, backups) opens with it.
func OpenDir(dir int, name string) (int, error) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolve}
	for {
		fd, err := unix.Openat2(dir, name, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

type ident struct{ dev, ino uint64 }

func identity(fd int) (ident, error) {
	var st unix.Stat_t
	err := unix.Fstat(fd, &st)
	return ident{st.Dev, st.Ino}, err
}

// checkMount refuses a directory that is a mount point or on another
// filesystem: its content is not the tree's to delete.
func checkMount(dir int, name string, dev uint64, what string) error {
	root, on, err := statMount(dir, name)
	if err != nil {
		return fmt.Errorf("remove %s: %w", what, err)
	}
	if root || on != dev {
		return fmt.Errorf("refusing to remove %s: %w", what, ErrMounted)
	}
	return nil
}

func unlink(dir int, name string, flags int, what string) error {
	if err := unix.Unlinkat(dir, name, flags); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove %s: %w", what, err)
	}
	return nil
}
