package prestart

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// Processes are a server's by their cgroup: slices, then the unit; the
// name below a service (a user's own unit, under user@UID.service) is not.
func TestUnitOf(t *testing.T) {
	for path, want := range map[string]string{
		"/system.slice/system-l4d2.slice/l4d2@a.service":                         "l4d2@a.service",
		"/system.slice/system-l4d2.slice/l4d2@a.service/sub":                     "l4d2@a.service",
		"/user.slice/user-1000.slice/user@1000.service/app.slice/l4d2@a.service": "",
		"/system.slice/l4d2@a.service":                                           "l4d2@a.service",
		"/games.slice/l4d2@a.service":                                            "l4d2@a.service",
		"/system.slice/other.service/l4d2@a.service":                             "",
		"/": "",
		"/system.slice/system-l4d2.slice/other.service": "",
		"/system.slice/system-l4d2.slice/l4d2@a.scope":  "",
	} {
		if got := unitOf(path); got != want {
			t.Errorf("unitOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestUnitProcs(t *testing.T) {
	root := t.TempDir()
	for pid, cg := range map[string]string{
		"100":  "0::/system.slice/system-l4d2.slice/l4d2@a.service\n",
		"101":  "12:pids:/system.slice/other.service\n1:name=systemd:/system.slice/system-l4d2.slice/l4d2@b.service\n",
		"102":  "0::/system.slice/system-l4d2.slice/l4d2@a.service\n",
		"103":  "0::/system.slice/left4me-disk.service\n",
		"104":  "0::/user.slice/user-1000.slice/user@1000.service/app.slice/l4d2@a.service\n",
		"self": "0::/system.slice/system-l4d2.slice/l4d2@c.service\n",
	} {
		if err := os.MkdirAll(filepath.Join(root, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, pid, "cgroup"), []byte(cg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := unitProcs(root)
	if err != nil {
		t.Fatal(err)
	}
	defer closeProcs(got)
	if _, err := unitProcs(filepath.Join(root, "missing")); err == nil {
		t.Error("no error for a /proc that cannot be read")
	}
	pids := func(u string) (ps []int) {
		for _, p := range got[u] {
			ps = append(ps, p.pid)
		}
		slices.Sort(ps)
		return ps
	}
	if !slices.Equal(pids("l4d2@a.service"), []int{100, 102}) || !slices.Equal(pids("l4d2@b.service"), []int{101}) || len(got) != 2 {
		t.Errorf("unitProcs: a %v, b %v, %d units", pids("l4d2@a.service"), pids("l4d2@b.service"), len(got))
	}
}

// selfProc is this process as the disk timer sees a server's.
func selfProc(t *testing.T) []proc {
	dir, err := unix.Open("/proc/self", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(dir) })
	return []proc{{pid: os.Getpid(), dir: dir}}
}

// A file the process deleted but keeps open or mapped counts, once
// however many descriptors it has; a file still linked does not, nor a
// memfd; nor a descriptor only a thread with a table of its own holds,
// which still counts.
func TestDeletedOpen(t *testing.T) {
	dir := t.TempDir()
	write := func(f *os.File, n int) *os.File {
		if _, err := f.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		return f
	}
	create := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	held := func() int64 {
		n, err := deletedOpen(selfProc(t))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	kept := write(create("kept"), 4<<20)
	defer kept.Close()
	gone := write(create("gone"), 2<<20)
	defer gone.Close()
	again, err := os.Open(filepath.Join(dir, "gone"))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := os.Remove(filepath.Join(dir, "gone")); err != nil {
		t.Fatal(err)
	}
	mfd, err := unix.MemfdCreate("standin", 0)
	if err != nil {
		t.Fatal(err)
	}
	mem := write(os.NewFile(uintptr(mfd), "memfd"), 8<<20)
	defer mem.Close()
	if n := held(); n < 2<<20 || n >= 3<<20 {
		t.Errorf("deletedOpen: %d bytes, want the deleted 2 MiB once", n)
	}
	// Mapped, closed and deleted: held all the same.
	mapped := write(create("mapped"), 1<<20)
	m, err := unix.Mmap(int(mapped.Fd()), 0, 1<<20, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	mapped.Close()
	if err := os.Remove(filepath.Join(dir, "mapped")); err != nil {
		t.Fatal(err)
	}
	if n := held(); n < 3<<20 || n >= 4<<20 {
		t.Errorf("deletedOpen with a deleted mapping: %d bytes, want 3 MiB", n)
	}
	// A thread with a descriptor table of its own (unshare(CLONE_FILES))
	// holding a deleted file the process's table does not have.
	ready, done := make(chan error), make(chan struct{})
	go func() {
		runtime.LockOSThread() // the thread ends with the goroutine: its table goes with it
		if err := unix.Unshare(unix.CLONE_FILES); err != nil {
			ready <- err
			return
		}
		f := write(create("own"), 1<<20)
		if err := os.Remove(filepath.Join(dir, "own")); err != nil {
			ready <- err
			return
		}
		ready <- nil
		<-done
		f.Close()
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	n := held()
	close(done)
	if n < 4<<20 || n >= 5<<20 {
		t.Errorf("deletedOpen with a thread's own table: %d bytes, want 4 MiB", n)
	}
}
