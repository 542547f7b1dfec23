package treetest

import (
	"os"

	"golang.org/x/sys/unix"
)

// fsImmutableFL is FS_IMMUTABLE_FL of linux/fs.h (x/sys/unix has none).
const fsImmutableFL = 0x00000010

// Immutable sets or clears path's immutable flag (chattr +i), which even
// root cannot unlink past: a tree whose removal must fail. It needs root
// and a filesystem that keeps the flag (ext4, xfs; not tmpfs).
func Immutable(path string, on bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return err
	}
	flags &^= fsImmutableFL
	if on {
		flags |= fsImmutableFL
	}
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
}
