// Package fsat is filesystem work through directory descriptors (the *at
// system calls), for root acting on trees that others can write: opening
// beneath a directory with openat2 and no links (OpenBeneath, EnsureDir),
// listing (ReadDirNames), removing a tree without following a link or
// entering a mount (RemoveTree), and writing files in place durably
// (WriteFile, SyncDir, SyncFS). The start helper and the CLI share it, so
// it lives below prestart and imports nothing of ours.
package fsat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// ResolveStrict forbids every symlink and any escape from the starting
// directory: what the helpers open below a directory that someone else can
// write (an upper layer, an overlay) is exactly that path. Crossing into
// another mount is allowed: only root can mount, and a runtime dir on a
// filesystem of its own (a quota, a separate disk) is a fair setup.
const ResolveStrict = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// OpenBeneath opens path below dirfd with openat2 and the given resolve
// flags. The returned error names path relative to what (for messages).
func OpenBeneath(dirfd int, path string, flags uint64, resolve uint64, what string) (int, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolve}
	if flags&unix.O_CREAT != 0 {
		how.Mode = 0o644
	}
	for {
		fd, err := unix.Openat2(dirfd, path, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue // openat2 may ask for a retry when a rename raced it
		}
		if err != nil {
			return -1, explain(what, err)
		}
		return fd, nil
	}
}

// explain turns the errno of a refused resolution into words an operator
// can act on.
func explain(what string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("%s: is (or passes through) a symbolic link; refusing to follow it: %w", what, err)
	case errors.Is(err, unix.EXDEV):
		return fmt.Errorf("%s: leads outside its directory; refusing: %w", what, err)
	case errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%s: a path component is not a directory: %w", what, err)
	case errors.Is(err, unix.ENOENT):
		return notExist(what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// EnsureDir makes name below parent (if missing) and opens it, refusing a
// symlink or non-directory in its place. created reports a new directory.
func EnsureDir(parent int, name string, mode uint32, what string) (fd int, created bool, err error) {
	if err := unix.Mkdirat(parent, name, mode); err == nil {
		created = true
	} else if !errors.Is(err, unix.EEXIST) {
		return -1, false, fmt.Errorf("create %s: %w", what, err)
	}
	fd, err = OpenBeneath(parent, name, unix.O_RDONLY|unix.O_DIRECTORY, ResolveStrict, what)
	if err != nil {
		return -1, false, err
	}
	if created {
		// mkdirat applies the umask; the mode is part of the contract.
		if err := unix.Fchmod(fd, mode); err != nil {
			unix.Close(fd)
			return -1, false, fmt.Errorf("chmod %s: %w", what, err)
		}
	}
	return fd, created, nil
}

// CloseAll closes fds, ignoring the -1 placeholders.
func CloseAll(fds ...int) {
	for _, fd := range fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

// notExist says "WHAT: does not exist" and matches os.ErrNotExist.
type notExist string

func (n notExist) Error() string        { return string(n) + ": does not exist" }
func (n notExist) Is(target error) bool { return target == os.ErrNotExist }

// IsMountPoint reports whether path (never followed if a link) is the root
// of a mount. It and RemoveTree's check are the one answer to "is it
// mounted?" (statx's STATX_ATTR_MOUNT_ROOT); /proc/self/mountinfo
// (package prestart/mountinfo) answers another question: which mounts lie
// below a directory.
func IsMountPoint(path string) (bool, error) {
	root, _, err := statMount(unix.AT_FDCWD, path)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	return root, nil
}

// statMount says whether name below dir (never followed, never
// automounted) is the root of a mount, and the device it is on.
func statMount(dir int, name string) (root bool, dev uint64, err error) {
	var stx unix.Statx_t
	if err := unix.Statx(dir, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_INO, &stx); err != nil {
		return false, 0, err
	}
	root = stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
	return root, unix.Mkdev(stx.Dev_major, stx.Dev_minor), nil
}

// ReadDirNames lists the open directory dir from its current offset (a
// fresh descriptor: all of it), without following or opening anything.
func ReadDirNames(dir int) ([]string, error) {
	var names []string
	err := EachName(dir, func(n string) { names = append(names, n) })
	if err != nil {
		return nil, err
	}
	return names, nil
}

// EachName is ReadDirNames a buffer at a time: f sees each name as it is
// read, so a directory of millions of names (a host's /tmp, which anybody
// may fill) is never held in memory.
func EachName(dir int, f func(string)) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			f(name)
		}
	}
}

// Child is what/name for a message, name quoted (Go syntax) when it holds
// anything but printable text: names below an upper layer are the
// server's, and one holding a newline would otherwise forge a line of the
// journal (a made-up error of another instance).
func Child(what, name string) string {
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || r == '"' || !unicode.IsPrint(r) {
			return what + "/" + strconv.Quote(name)
		}
	}
	return what + "/" + name
}
