package prestart

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestUnitProcs(t *testing.T) {
	proc := t.TempDir()
	for pid, cg := range map[string]string{
		"100":  "0::/system.slice/system-l4d2.slice/l4d2@a.service\n",
		"101":  "12:pids:/system.slice/other.service\n1:name=systemd:/system.slice/system-l4d2.slice/l4d2@b.service\n",
		"102":  "0::/system.slice/system-l4d2.slice/l4d2@a.service\n",
		"103":  "0::/system.slice/left4me-disk.service\n",
		"self": "0::/system.slice/system-l4d2.slice/l4d2@c.service\n",
	} {
		if err := os.MkdirAll(filepath.Join(proc, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, pid, "cgroup"), []byte(cg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := unitProcs(proc)
	slices.Sort(got["l4d2@a.service"])
	if !slices.Equal(got["l4d2@a.service"], []int{100, 102}) || !slices.Equal(got["l4d2@b.service"], []int{101}) || len(got) != 2 {
		t.Errorf("unitProcs: %v", got)
	}
}

// A file the process deleted but keeps open counts, once however many
// descriptors it has; a file still linked does not, nor a memfd.
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
	if n := deletedOpen("/proc", []int{os.Getpid()}); n < 2<<20 || n >= 4<<20 {
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
	if n := deletedOpen("/proc", []int{os.Getpid()}); n < 3<<20 || n >= 4<<20 {
		t.Errorf("deletedOpen with a deleted mapping: %d bytes, want 3 MiB", n)
	}
}
