package prestart

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/tests/testroot"
)

// A start keeps the newest crash dumps only: directories and links count
// as dumps too (the server owns the directory and may plant either), and
// go with everything in them, never what a link points to.
func TestStartTrimsDumps(t *testing.T) {
	e := newEnv(t, "")
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	dumps := e.path("runtime/srv/" + layout.Dumps)
	fi, err := os.Stat(dumps)
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != testUID || fi.Mode().Perm() != 0o750 {
		t.Fatalf("dumps dir: %v %v", fi, err)
	}
	if err := Stop(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	mk(t, victim, "keep me", 0o644)
	now := time.Now()
	for i := range 8 {
		p := filepath.Join(dumps, "crash_"+strconv.Itoa(i)+".mdmp")
		mk(t, p, "dump", 0o644)
		old := now.Add(-time.Duration(i) * time.Hour) // crash_0 is the newest
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dumps, "zz_link.mdmp")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	mk(t, filepath.Join(dumps, "sub/deeper/1 GiB of logs"), "x", 0o644)
	symlink(t, filepath.Dir(victim), filepath.Join(dumps, "sub/out"))
	old := now.Add(-10 * time.Hour)
	for _, p := range []string{filepath.Join(dumps, "sub"), link} {
		ts := []unix.Timespec{unix.NsecToTimespec(old.UnixNano()), unix.NsecToTimespec(old.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	defer Stop(e.c, "srv")
	entries, _ := os.ReadDir(dumps)
	var got []string
	for _, d := range entries {
		got = append(got, d.Name())
	}
	sort.Strings(got)
	want := []string{"crash_0.mdmp", "crash_1.mdmp", "crash_2.mdmp", "crash_3.mdmp", "crash_4.mdmp"}
	if len(got) != len(want) {
		t.Fatalf("left %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("left %v, want %v", got, want)
		}
	}
	if data, err := os.ReadFile(victim); err != nil || string(data) != "keep me" {
		t.Errorf("the link's target was touched: %q %v", data, err)
	}
}

// The console socket's directories: made root-owned; a link or a
// directory others can write is refused.
func TestConsoleRootDirs(t *testing.T) {
	testroot.Require(t, "root-owned directories")
	base := t.TempDir()
	dir := filepath.Join(base, "left4me", "console")
	if err := rootDirs(dir, "alpha"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "alpha"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := rootDirs(dir, "alpha"); err == nil || !strings.Contains(err.Error(), "writable by root only") {
		t.Errorf("a world-writable directory: %v", err)
	}
	if err := os.Symlink(base, filepath.Join(dir, "bravo")); err != nil {
		t.Fatal(err)
	}
	if err := rootDirs(dir, "bravo"); err == nil {
		t.Error("a link accepted")
	}
}

// The console socket is root's and the admin group's, 0660: nobody else
// can connect; without the group, root's alone.
func TestConsoleOwner(t *testing.T) {
	testroot.Require(t, "chown")
	for _, tt := range []struct {
		group string
		gid   uint32
		mode  uint32
	}{{"daemon", 1, 0o660}, {"no-such-group-left4me", 0, 0o600}} {
		p := filepath.Join(t.TempDir(), "console.sock")
		mk(t, p, "", 0o666)
		if err := consoleOwner(p, tt.group); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 || st.Gid != tt.gid || st.Mode&0o7777 != tt.mode {
			t.Errorf("group %s: %d:%d %o, want 0:%d %o", tt.group, st.Uid, st.Gid, st.Mode&0o7777, tt.gid, tt.mode)
		}
	}
}

// Dumps are bounded in size too: the newest that fit in maxBytes together
// are kept, a directory counted with all it holds.
func TestTrimDumpsBySize(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	big := string(make([]byte, 40<<10))
	for i, name := range []string{"new.mdmp", "dir", "old.mdmp"} {
		p := filepath.Join(dir, name)
		if name == "dir" {
			mk(t, filepath.Join(p, "a/b.mdmp"), big, 0o644)
		} else {
			mk(t, p, big, 0o644)
		}
		ts := now.Add(-time.Duration(i) * time.Hour)
		if err := os.Chtimes(p, ts, ts); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	n, err := trimDumps(fd, 5, 64<<10)
	if err != nil || n != 2 {
		t.Fatalf("removed %d, %v; want 2", n, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 || ents[0].Name() != "new.mdmp" {
		t.Errorf("left %v, want new.mdmp only", ents)
	}
}
