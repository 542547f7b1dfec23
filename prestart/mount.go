package prestart

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxStacked bounds the unmount loop: mounts can stack on one mount point
// (a helper killed after mounting, then another start), and each umount
// removes only the top one.
const maxStacked = 32

// IsMountPoint reports whether path (never followed if a link) is the root
// of a mount.
func IsMountPoint(path string) (bool, error) {
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

// unmountAll removes every mount stacked on path. A busy mount (a shell of
// an operator inside it) is detached lazily: the instance is stopped either
// way, and the next start must find the mount point free.
func unmountAll(path string) (n int, err error) {
	for ; n < maxStacked; n++ {
		mounted, err := IsMountPoint(path)
		if err != nil || !mounted {
			return n, err
		}
		err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return n, fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return n, fmt.Errorf("unmount %s: still mounted after %d unmounts", path, maxStacked)
}

// mountOverlay mounts the layers on merged. Every directory is passed as
// /proc/self/fd/N of an fd opened without following links, so the kernel
// mounts exactly what was checked, whatever is renamed meanwhile, and no
// path needs escaping in the option string.
func mountOverlay(lowers []int, upper, work int, merged string) error {
	var b strings.Builder
	b.WriteString("lowerdir=")
	for i, fd := range lowers {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(fdPath(fd))
	}
	b.WriteString(",upperdir=" + fdPath(upper) + ",workdir=" + fdPath(work))
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_NOSUID|unix.MS_NODEV, b.String()); err != nil {
		return fmt.Errorf("mount overlay on %s: %w", merged, err)
	}
	return nil
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }
