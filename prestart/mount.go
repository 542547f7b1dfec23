package prestart

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

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
