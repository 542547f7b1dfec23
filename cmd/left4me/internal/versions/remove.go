package versions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// removeTree deletes path and everything below it without following links
// and without entering another filesystem: a mount below it is an error,
// never emptied (os.RemoveAll would descend into it).
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
			return fmt.Errorf("refusing to remove %s: another filesystem is mounted there (umount it first)", path)
		}
		if m, err := isMountPoint(path); err != nil {
			return err
		} else if m {
			return fmt.Errorf("refusing to remove %s: it is a mount point (umount it first)", path)
		}
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

// isMountPoint reports whether path (not followed) is the root of a mount.
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

// unmountAll removes every mount stacked on path (a staging overlay left
// by a killed update); busy ones are detached.
func unmountAll(path string) error {
	for i := 0; i < 32; i++ {
		m, err := isMountPoint(path)
		if err != nil || !m {
			return err
		}
		err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return fmt.Errorf("unmount %s: still mounted after 32 unmounts", path)
}
