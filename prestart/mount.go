package prestart

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mountOverlay mounts the layers on merged. Every directory is passed as
// /proc/self/fd/N of an fd opened without following links, so the kernel
// mounts exactly what was checked, whatever is renamed meanwhile, and no
// path needs escaping in the option string.
//
// The mount is made as the server's writer (asWriter): overlayfs keeps the
// credentials of whoever mounted it and makes every write, copy-up and
// whiteout in the upper layer with them (ovl_override_creds,
// fs/overlayfs/util.c; backing_file_write_iter, fs/backing-file.c).
func mountOverlay(lowers []int, upper, work int, merged string, uid, gid int) error {
	var b strings.Builder
	b.WriteString("lowerdir=")
	for i, fd := range lowers {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(fdPath(fd))
	}
	b.WriteString(",upperdir=" + fdPath(upper) + ",workdir=" + fdPath(work))
	opts := b.String()
	err := asWriter(uid, gid, func() error {
		return unix.Mount("overlay", merged, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts)
	})
	if err != nil {
		return fmt.Errorf("mount overlay on %s: %w", merged, err)
	}
	return nil
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

// asWriter runs f with this thread's filesystem uid and gid set to the
// server's, keeping every capability the helper has, then puts them back.
// A mount made by plain root would let the server's writes through the
// overlay take the blocks ext4 keeps for root (5 % by default, so that
// journald, dpkg and root's logins work on a full disk): ext4 hands them
// to a writer whose fsuid is the filesystem's resuid, root unless tuned
// (ext4_has_free_clusters, fs/ext4/balloc.c). overlayfs already drops
// CAP_SYS_RESOURCE from the mounter's credentials it keeps ("Never
// override disk quota limits or use reserved space", ovl_fill_super,
// fs/overlayfs/super.c), but not the fsuid.
//
// Credentials are per thread, and the caller's thread matters: Start runs
// on one locked thread in PID 1's mount namespace (InHostMountNS), so f
// runs here, not on a thread of its own. The thread stays locked while
// they differ, and for good should they fail to come back.
func asWriter(uid, gid int, f func() error) error {
	runtime.LockOSThread()
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData
	if err := unix.Capget(&hdr, &caps[0]); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("read this thread's capabilities: %w", err)
	}
	oldUID, _ := unix.SetfsuidRetUid(-1)
	oldGID, _ := unix.SetfsgidRetGid(-1)
	err := withCreds(uid, gid, caps, f)
	if rerr := setCreds(oldUID, oldGID, caps); rerr != nil {
		return errors.Join(err, fmt.Errorf("restore this thread's credentials (it is retired): %w", rerr))
	}
	runtime.UnlockOSThread()
	return err
}

func withCreds(uid, gid int, caps [2]unix.CapUserData, f func() error) error {
	// Leaving fsuid 0 clears the filesystem capabilities from the
	// effective set (cap_task_fix_setuid, security/commoncap.c); overlayfs
	// needs them (chown, mknod and the override of modes at copy-up), so
	// the effective set is put back as it was.
	if err := setCreds(uid, gid, caps); err != nil {
		return err
	}
	return f()
}

// setCreds sets this thread's fsuid and fsgid and its capabilities.
// setfsuid(2) reports no error: the previous value comes back either way,
// so each change is read back (a value of -1 changes nothing).
func setCreds(uid, gid int, caps [2]unix.CapUserData) error {
	_ = unix.Setfsgid(gid)
	if got, _ := unix.SetfsgidRetGid(-1); got != gid {
		return fmt.Errorf("set the filesystem gid to %d: it stayed %d", gid, got)
	}
	_ = unix.Setfsuid(uid)
	if got, _ := unix.SetfsuidRetUid(-1); got != uid {
		return fmt.Errorf("set the filesystem uid to %d: it stayed %d", uid, got)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if err := unix.Capset(&hdr, &caps[0]); err != nil {
		return fmt.Errorf("set this thread's capabilities: %w", err)
	}
	return nil
}
