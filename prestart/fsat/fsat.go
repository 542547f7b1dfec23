package prestart

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// resolveStrict forbids every symlink and any escape from the starting
// directory: what the helpers open below a directory that someone else can
// write (an upper layer, an overlay) is exactly that path. Crossing into
// another mount is allowed: only root can mount, and a runtime dir on a
// filesystem of its own (a quota, a separate disk) is a fair setup.
const resolveStrict = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openBeneath opens path below dirfd with openat2 and the given resolve
// flags. The returned error names path relative to what (for messages).
func openBeneath(dirfd int, path string, flags uint64, resolve uint64, what string) (int, error) {
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

// ensureDir makes name below parent (if missing) and opens it, refusing a
// symlink or non-directory in its place. created reports a new directory.
func ensureDir(parent int, name string, mode uint32, what string) (fd int, created bool, err error) {
	if err := unix.Mkdirat(parent, name, mode); err == nil {
		created = true
	} else if !errors.Is(err, unix.EEXIST) {
		return -1, false, fmt.Errorf("create %s: %w", what, err)
	}
	fd, err = openBeneath(parent, name, unix.O_RDONLY|unix.O_DIRECTORY, resolveStrict, what)
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

// closeAll closes fds, ignoring the -1 placeholders.
func closeAll(fds ...int) {
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
