package prestart

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/tests/testroot"
)

// ext4At mounts a fresh ext4 of size bytes, with ext4's default 5 % of its
// blocks kept for root, on base/state.
func ext4At(t *testing.T, base string, size int64) string {
	t.Helper()
	img, state := filepath.Join(base, "fs.img"), filepath.Join(base, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = errors.Join(f.Truncate(size), f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"mkfs.ext4", "-q", "-F", "-m", "5", img}, {"mount", "-o", "loop", img, state}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", state).Run() })
	return state
}

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
	state := ext4At(t, base, 64<<20)
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
// kernel stop doing so, this fails, and asWriter may go.
func TestRootMountedOverlayTakesTheReserve(t *testing.T) {
	testroot.Require(t, "to mount ext4 and overlayfs")
	base := t.TempDir()
	state := ext4At(t, base, 64<<20)
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
// server's fsuid and every capability, on the caller's thread (which may
// be in another mount namespace), and every thread has root's after.
func TestAsWriterRestores(t *testing.T) {
	testroot.Require(t, "to change the filesystem uid")
	var inside string
	var effective uint32
	var tid int
	runtime.LockOSThread() // as InHostMountNS's thread is
	defer runtime.UnlockOSThread()
	err := asWriter(testUID, testGID, func() error {
		tid = unix.Gettid()
		inside = fsuids(t)[strconv.Itoa(tid)]
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		err := unix.Capget(&hdr, &data[0])
		effective = data[0].Effective
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if tid != unix.Gettid() {
		t.Errorf("asWriter ran on thread %d, not the caller's %d", tid, unix.Gettid())
	}
	if inside != "65534" {
		t.Errorf("fsuid inside asWriter is %q, want 65534", inside)
	}
	for _, c := range []int{unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER, unix.CAP_MKNOD, unix.CAP_SYS_ADMIN} {
		if effective&(1<<c) == 0 {
			t.Errorf("capability %d missing inside asWriter (effective %#x)", c, effective)
		}
	}
	for task, id := range fsuids(t) {
		if id != "0" {
			t.Errorf("thread %s kept fsuid %s after asWriter", task, id)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil || data[0].Effective != data[0].Permitted {
		t.Errorf("capabilities after asWriter: effective %#x, permitted %#x (%v)", data[0].Effective, data[0].Permitted, err)
	}
}
