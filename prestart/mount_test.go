package prestart

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/tests/loopfs"
	"github.com/left4me/left4me/tests/testroot"
)

// asUser runs script as uid in dir, which it reaches as /proc/self/fd/3
// (as the server reaches its tree: bound into its namespace, not through
// runtime/NAME, which only root may enter).
func asUser(t *testing.T, dir string, uid, gid int, script string) (string, error) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cmd := exec.Command("sh", "-c", "cd /proc/self/fd/3 && "+script)
	cmd.ExtraFiles = []*os.File{d}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// fill writes zeros as uid into dir/fill until the filesystem refuses, and
// fails the test unless it refused for want of space.
func fill(t *testing.T, dir string, uid, gid int) {
	t.Helper()
	out, err := asUser(t, dir, uid, gid, "exec dd if=/dev/zero of=fill bs=64k")
	if err == nil || !strings.Contains(out, "No space left on device") {
		t.Fatalf("dd into %s did not end at a full disk: %v\n%s", dir, err, out)
	}
}

// rootWrites is whether root can still write 1 MiB into dir, as journald
// must on a full disk.
func rootWrites(dir string) error {
	p := filepath.Join(dir, "root.bin")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, 1<<20))
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close(), os.Remove(p))
}

// A server that fills its upper layer stops where any user stops on ext4,
// leaving the blocks ext4 keeps for root to the host (journald, dpkg,
// left4me's own records): overlayfs writes with its mounter's credentials,
// so the mount is made with the server's fsuid. Copy-up and whiteouts,
// which overlayfs also makes with those credentials, still work.
func TestServerWritesLeaveRootsReserve(t *testing.T) {
	testroot.Require(t, "to mount ext4 and overlayfs")
	base := t.TempDir()
	state := loopfs.Ext4(t, base, 64<<20)
	e := newEnvIn(t, base, "")
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	merged := e.c.Layout.MergedDir("srv")

	// Copy-up of a lower file and a whiteout over another, as the server.
	if out, err := asUser(t, merged, testUID, testGID, "echo changed >left4dead2/who.txt && rm left4dead2/base.txt"); err != nil {
		t.Fatalf("as the server: %v\n%s", err, out)
	}
	var st unix.Stat_t
	if err := unix.Lstat(e.path("runtime/srv/upper/left4dead2/who.txt"), &st); err != nil || read(t, e.path("runtime/srv/upper/left4dead2/who.txt")) != "changed\n" {
		t.Errorf("copy-up did not land in upper: %v", err)
	}
	if err := unix.Lstat(e.path("runtime/srv/upper/left4dead2/base.txt"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("no whiteout for the removed file: %v %o", err, st.Mode)
	}
	if got := read(t, e.path("installation/left4dead2/base.txt")); got != "base" {
		t.Errorf("the installation changed: %q", got)
	}

	fill(t, merged, testUID, testGID)
	if err := rootWrites(state); err != nil {
		t.Errorf("root cannot write 1 MiB after the server filled the disk: %v", err)
	}
}

// What the test above works around: an overlay mounted with fsuid 0, as a
// plain mount by root is, hands ext4's reserve to any writer. Should a
// kernel stop doing so, this says so (a skip: that kernel is no fault of
// ours), and asWriter may go.
func TestRootMountedOverlayTakesTheReserve(t *testing.T) {
	testroot.Require(t, "to mount ext4 and overlayfs")
	base := t.TempDir()
	state := loopfs.Ext4(t, base, 64<<20)
	var fds []int
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(state, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if d == "merged" {
			continue
		}
		fd, err := unix.Open(filepath.Join(state, d), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		fds = append(fds, fd)
	}
	if err := os.Chown(filepath.Join(state, "upper"), testUID, testGID); err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(state, "merged")
	if err := mountOverlay(fds[:1], fds[1], fds[2], merged, 0, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
	fill(t, merged, testUID, testGID)
	if err := rootWrites(state); err == nil {
		t.Skip("this kernel keeps ext4's reserve from a writer through an overlay mounted by root: asWriter is no longer needed here")
	}
}

// fsuids is the filesystem uid of each thread of this process.
func fsuids(t *testing.T) map[string]string {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, task := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + task.Name() + "/status")
		if err != nil {
			continue // ended meanwhile
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 5 && f[0] == "Uid:" {
				ids[task.Name()] = f[4]
			}
		}
	}
	return ids
}

// asWriter's credentials are its function's alone: it runs with the
// server's fsuid and fsgid, no groups and every capability, on the
// caller's thread (which may be in another mount namespace), and the
// thread has its own back after, as every other thread kept them.
func TestAsWriterRestores(t *testing.T) {
	testroot.Require(t, "to change the filesystem uid")
	runtime.LockOSThread() // as InHostMountNS's thread is
	defer runtime.UnlockOSThread()
	own, err := unix.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Setgroups(own) }()
	if err := unix.Setgroups([]int{27, 4}); err != nil { // as sudo's root may have
		t.Fatal(err)
	}
	before, err := threadCreds()
	if err != nil {
		t.Fatal(err)
	}
	var inside creds
	var tid int
	var others map[string]string
	err = asWriter(testUID, testGID, func() error {
		tid = unix.Gettid()
		others = fsuids(t)
		var err error
		inside, err = threadCreds()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if tid != unix.Gettid() {
		t.Errorf("asWriter ran on thread %d, not the caller's %d", tid, unix.Gettid())
	}
	if inside.uid != testUID || inside.gid != testGID || len(inside.groups) != 0 {
		t.Errorf("inside asWriter: fsuid %d, fsgid %d, groups %v; want %d, %d, none", inside.uid, inside.gid, inside.groups, testUID, testGID)
	}
	if inside.caps != before.caps {
		t.Errorf("capabilities inside asWriter %+v, before %+v", inside.caps, before.caps)
	}
	for task, id := range others {
		if id != "0" && task != strconv.Itoa(tid) {
			t.Errorf("thread %s had fsuid %s while asWriter ran", task, id)
		}
	}
	after, err := threadCreds()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("after asWriter %+v, before %+v", after, before)
	}
	for task, id := range fsuids(t) {
		if id != "0" {
			t.Errorf("thread %s kept fsuid %s after asWriter", task, id)
		}
	}
}

// On a filesystem full for users, overlayfs (as the server's writer)
// cannot make its work directory and mounts read-only, saying so only in
// the kernel's log: the start fails, saying why, and leaves no mount.
func TestStartRefusesReadOnlyOverlay(t *testing.T) {
	testroot.Require(t, "to mount ext4 and overlayfs")
	base := t.TempDir()
	state := loopfs.Ext4(t, base, 64<<20)
	e := newEnvIn(t, base, "")
	if err := os.Chmod(state, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := CheckRoom(e.c.Layout, "srv"); err != nil {
		t.Fatalf("CheckRoom on an empty filesystem: %v", err)
	}
	// Full to the last block a user may take.
	out, _ := asUser(t, state, testUID, testGID, "dd if=/dev/zero of=big bs=64k; exec dd if=/dev/zero of=tail bs=4k")
	var st unix.Statfs_t
	if err := unix.Statfs(state, &st); err != nil || st.Bavail != 0 {
		t.Fatalf("the disk is not full for users (%d blocks left, %v):\n%s", st.Bavail, err, out)
	}
	// What left4me restart asks before it stops a running server.
	if err := CheckRoom(e.c.Layout, "srv"); !errors.Is(err, ErrFullForUsers) || !strings.Contains(err.Error(), state+": the filesystem is full for users") {
		t.Errorf("CheckRoom on the full filesystem: %v", err)
	}
	err := startSpec(e.c, "srv")
	if !errors.Is(err, ErrMountedReadOnly) || !errors.Is(err, ErrFullForUsers) {
		t.Fatalf("start on a disk full for users: %v", err)
	}
	if mounted(t, e.c.Layout.MergedDir("srv")) {
		t.Error("the read-only overlay was left mounted")
	}
}

// What the switch to the server's writer and back adds to a mount: a
// dozen system calls (compare a mount of the overlay itself, about a
// millisecond: `make bench`, "Start helper vs a bare overlayfs mount").
func BenchmarkAsWriter(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root to change the filesystem uid")
	}
	for b.Loop() {
		if err := asWriter(testUID, testGID, func() error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// A filesystem that counts no blocks (a tmpfs mounted with size=0) is
// never full for users: CheckRoom must not refuse every restart on it.
func TestCheckRoomUncountedFilesystem(t *testing.T) {
	testroot.Require(t, "to mount a tmpfs")
	root := t.TempDir()
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(root, unix.MNT_DETACH) })
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil || st.Blocks != 0 {
		t.Fatalf("a tmpfs of size=0 counts %d blocks (%v)", st.Blocks, err)
	}
	if err := CheckRoom(layout.Layout{Root: root}, "srv"); err != nil {
		t.Errorf("CheckRoom on a filesystem without block counts: %v", err)
	}
}
