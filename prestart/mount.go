package prestart

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
)

// ErrMountedReadOnly: overlayfs mounted the tree read-only, which it does
// (with only a kernel log line) when it cannot make its work directory.
var ErrMountedReadOnly = errors.New("overlayfs mounted it read-only")

// ErrFullForUsers: the filesystem of an instance's tree has less than
// UsersRoom left for anyone but root.
var ErrFullForUsers = errors.New("the filesystem is full for users")

// ErrCredentials: a thread's credentials could not be put back after
// asWriter; nothing more may run on it.
var ErrCredentials = errors.New("this thread's credentials could not be restored")

// UsersRoom is the least space for users a start needs. Below it a server
// could write nothing, and overlayfs, writing as the server, may fail to
// make its work directory (ext4 also holds back a watermark of clusters
// while others are being allocated: EXT4_FREECLUSTERS_WATERMARK).
const UsersRoom = 1 << 20

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
	// The mount point too is resolved as root, before the switch.
	target, err := unix.Open(merged, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("mount overlay on %s: %w", merged, err)
	}
	defer unix.Close(target)
	err = asWriter(uid, gid, func() error {
		return unix.Mount("overlay", fdPath(target), "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts)
	})
	if err != nil {
		return fmt.Errorf("mount overlay on %s: %w", merged, err)
	}
	return refuseReadOnly(merged, upper)
}

// refuseReadOnly unmounts a tree overlayfs mounted read-only, saying why.
// As the server's writer, it cannot make its work directory on a
// filesystem that is full for users (only root's reserve left): the
// server could write nothing either, and a start that seems fine would
// hide it.
func refuseReadOnly(merged string, upper int) error {
	var st unix.Statfs_t
	if err := unix.Statfs(merged, &st); err != nil {
		return fmt.Errorf("check the overlay on %s: %w", merged, err)
	}
	if st.Flags&unix.ST_RDONLY == 0 {
		return nil
	}
	err := fmt.Errorf("mount overlay on %s: %w (see the kernel log, dmesg, for overlayfs's reason)", merged, ErrMountedReadOnly)
	var fs unix.Statfs_t
	if unix.Fstatfs(upper, &fs) == nil && fullForUsers(fs) {
		err = fmt.Errorf("mount overlay on %s: %w: %w (%s left, only the blocks it keeps for root), so it could not make its work directory; free space: systemd tries the start again", merged, ErrMountedReadOnly, ErrFullForUsers, Size(roomFor(fs)))
	}
	if uerr := unix.Unmount(merged, 0); uerr != nil {
		return errors.Join(err, fmt.Errorf("unmount the read-only overlay on %s: %w", merged, uerr))
	}
	return err
}

func fdPath(fd int) string { return "/proc/self/fd/" + strconv.Itoa(fd) }

func roomFor(fs unix.Statfs_t) int64 { return int64(fs.Bavail) * fs.Bsize }

// fullForUsers: fs has less than UsersRoom left for users. A filesystem
// that counts no blocks (a tmpfs of size=0, some FUSE ones) is never full.
func fullForUsers(fs unix.Statfs_t) bool { return fs.Blocks > 0 && roomFor(fs) < UsersRoom }

// Room is the free space of the filesystem a path is (or would be) on.
type Room struct {
	Path string // what was measured: the path, or its nearest existing parent
	Dev  uint64 // its st_dev: two paths with the same one share the space
	// Free is what users may still write (f_bavail): the blocks ext4
	// keeps for root are the host's (journald, dpkg), not for our files.
	Free    int64
	Block   int64 // the filesystem's block size (f_bsize)
	Counted bool  // it counts blocks: false for a tmpfs of size=0 and some FUSE ones, never full
	// Inodes is how many more files and directories it can hold
	// (f_ffree); InodesCounted is false where it counts none (btrfs,
	// a tmpfs of nr_inodes=0).
	Inodes        int64
	InodesCounted bool
}

// RoomAt measures the filesystem of path, or of its nearest existing
// parent when path is still to be made (a first backup's directory).
func RoomAt(path string) (Room, error) {
	p := filepath.Clean(path)
	for {
		var st unix.Stat_t
		err := unix.Stat(p, &st)
		if errors.Is(err, unix.ENOENT) && p != filepath.Dir(p) {
			p = filepath.Dir(p)
			continue
		}
		if err != nil {
			return Room{}, fmt.Errorf("free space of %s: %w", path, err)
		}
		var fs unix.Statfs_t
		if err := unix.Statfs(p, &fs); err != nil {
			return Room{}, fmt.Errorf("free space of %s: %w", p, err)
		}
		return Room{Path: p, Dev: st.Dev, Free: roomFor(fs), Block: fs.Bsize, Counted: fs.Blocks > 0,
			Inodes: int64(fs.Ffree), InodesCounted: fs.Files > 0}, nil
	}
}

// CheckRoom refuses a start of name when the filesystem of its tree
// (runtime/NAME, or where it will be made before its first start) is full
// for users: the start would fail (ErrMountedReadOnly), so a restart must
// not stop the running server for it.
func CheckRoom(l layout.Layout, name string) error {
	r, err := RoomAt(l.RuntimeDir(name))
	if err != nil {
		return err
	}
	if r.Counted && r.Free < UsersRoom {
		return fmt.Errorf("%s: %w (%s left, only the blocks it keeps for root): a server could write nothing, and overlayfs could only mount its tree read-only; free space first", r.Path, ErrFullForUsers, Size(r.Free))
	}
	return nil
}

// asWriter runs f with this thread's filesystem uid and gid set to the
// server's and no supplementary groups, keeping every capability the
// helper has, then puts them back. A mount made by plain root would let
// the server's writes through the overlay take the blocks ext4 keeps for
// root (5 % by default, so that journald, dpkg and root's logins work on
// a full disk): ext4 hands them to a writer whose fsuid is the
// filesystem's resuid, root unless tuned, or who is in its resgid
// (ext4_has_free_clusters, fs/ext4/balloc.c). overlayfs already drops
// CAP_SYS_RESOURCE from the mounter's credentials it keeps ("Never
// override disk quota limits or use reserved space", ovl_fill_super,
// fs/overlayfs/super.c), but not the fsuid. (Changing the fsuid also
// makes the process non-dumpable, which the helper does not mind.)
//
// Credentials are per thread, and the caller's thread matters: Start runs
// on one locked thread in PID 1's mount namespace (InHostMountNS), so f
// runs here, not on a thread of its own. The thread stays locked while
// they differ, and for good should they fail to come back, so that no
// other goroutine ever runs with them.
func asWriter(uid, gid int, f func() error) (err error) {
	runtime.LockOSThread()
	saved, err := threadCreds()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer func() {
		if rerr := saved.set(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("%w (the thread is kept from other work): %w", ErrCredentials, rerr))
			return
		}
		runtime.UnlockOSThread()
	}()
	// Leaving fsuid 0 clears the filesystem capabilities from the
	// effective set (cap_task_fix_setuid, security/commoncap.c); overlayfs
	// needs them (chown, mknod and the override of modes at copy-up), so
	// the effective set is put back as it was.
	w := saved
	w.uid, w.gid, w.groups = uid, gid, []int{}
	if err := w.set(); err != nil {
		return err
	}
	return f()
}

// creds are what asWriter changes of a thread's credentials.
type creds struct {
	uid, gid int // filesystem uid and gid
	groups   []int
	caps     [2]unix.CapUserData
}

func threadCreds() (creds, error) {
	var c creds
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if err := unix.Capget(&hdr, &c.caps[0]); err != nil {
		return c, fmt.Errorf("read this thread's capabilities: %w", err)
	}
	groups, err := unix.Getgroups()
	if err != nil {
		return c, fmt.Errorf("read this thread's groups: %w", err)
	}
	c.groups = groups
	// setfsuid(2) with -1 changes nothing and returns the current value.
	c.uid, _ = unix.SetfsuidRetUid(-1)
	c.gid, _ = unix.SetfsgidRetGid(-1)
	return c, nil
}

// set gives this thread c. setfsuid(2) reports no error: the previous value
// comes back either way, so each change is read back.
func (c creds) set() error {
	if err := unix.Setgroups(c.groups); err != nil {
		return fmt.Errorf("set this thread's groups: %w", err)
	}
	// The kernel keeps groups sorted (groups_sort, kernel/groups.c).
	if got, err := unix.Getgroups(); err != nil || !slices.Equal(got, slices.Sorted(slices.Values(c.groups))) {
		return fmt.Errorf("set this thread's groups to %v: they are %v (%v)", c.groups, got, err)
	}
	_ = unix.Setfsgid(c.gid)
	if got, _ := unix.SetfsgidRetGid(-1); got != c.gid {
		return fmt.Errorf("set the filesystem gid to %d: it stayed %d", c.gid, got)
	}
	_ = unix.Setfsuid(c.uid)
	if got, _ := unix.SetfsuidRetUid(-1); got != c.uid {
		return fmt.Errorf("set the filesystem uid to %d: it stayed %d", c.uid, got)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	caps := c.caps
	if err := unix.Capset(&hdr, &caps[0]); err != nil {
		return fmt.Errorf("set this thread's capabilities: %w", err)
	}
	return nil
}
