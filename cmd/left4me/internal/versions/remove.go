package versions

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart"
)

// unmountAll removes every mount stacked on path (a staging overlay left
// by a killed update); busy ones are detached.
func unmountAll(path string) error {
	for i := 0; i < 32; i++ {
		m, err := prestart.IsMountPoint(path)
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
