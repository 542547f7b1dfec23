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

	"github.com/left4me/left4me/prestart/rundir"
)

// A start keeps the newest crash dumps only, and removes nothing that is
// not a regular file: the server owns the directory and may plant links.
func TestStartTrimsDumps(t *testing.T) {
	e := newEnv(t, "")
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	dumps := e.path("runtime/srv/" + rundir.Dumps)
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
	if err := os.Mkdir(filepath.Join(dumps, "sub"), 0o755); err != nil {
		t.Fatal(err)
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
	want := []string{"crash_0.mdmp", "crash_1.mdmp", "crash_2.mdmp", "crash_3.mdmp", "crash_4.mdmp", "sub", "zz_link.mdmp"}
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
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
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
