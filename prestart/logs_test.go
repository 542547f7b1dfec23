package prestart

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec"
)

// pruneLogs removes old logs, then the oldest until the rest fit, and
// nothing else: not a file of another name, a directory, a fifo, a socket
// or a link (nor what a link points to), and nothing through a logs
// directory that is a link.
func TestPruneLogs(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	root := t.TempDir()
	outside := t.TempDir()
	p := func(rel string) string { return filepath.Join(root, rel) }
	file := func(rel string, size int, age time.Duration) {
		t.Helper()
		mk(t, p(rel), strings.Repeat("x", size), 0o644)
		if err := os.Chtimes(p(rel), now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	file("left4dead2/logs/L0101000.log", 4096, 10*day)                        // old
	file("left4dead2/logs/L0102000.log", 64<<10, 3*day)                       // the oldest young one: over the size
	file("left4dead2/logs/L0103000.log", 64<<10, 2*day)                       // kept
	file("left4dead2/addons/sourcemod/logs/errors_20250101.log", 4096, 9*day) // old
	file("left4dead2/addons/sourcemod/logs/L20250105.log", 4096, day)         // kept
	file("left4dead2/logs/notes.txt", 4096, 30*day)                           // not a log
	file("left4dead2/console.log", 4096, 8*day)                               // -condebug's, old
	file("left4dead2/other.log", 4096, 30*day)                                // not a place we prune
	mk(t, filepath.Join(outside, "victim.log"), "keep me", 0o644)
	os.Chtimes(filepath.Join(outside, "victim.log"), now.Add(-30*day), now.Add(-30*day))
	must(t, os.Symlink(filepath.Join(outside, "victim.log"), p("left4dead2/logs/link.log")))
	must(t, os.Mkdir(p("left4dead2/logs/dir.log"), 0o755))
	must(t, unix.Mkfifo(p("left4dead2/logs/fifo.log"), 0o644))
	// SourceMod's logs dir of a second tree is a link out: skipped whole.
	root2 := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root2, "left4dead2/addons/sourcemod"), 0o755))
	must(t, os.Symlink(outside, filepath.Join(root2, "left4dead2/addons/sourcemod/logs")))

	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	res, err := pruneLogs(fd, root, LogBounds{Days: 7, Bytes: 80 << 10}, now)
	if err != nil {
		t.Fatal(err)
	}
	gone := []string{"left4dead2/logs/L0101000.log", "left4dead2/logs/L0102000.log", "left4dead2/addons/sourcemod/logs/errors_20250101.log", "left4dead2/console.log"}
	kept := []string{"left4dead2/logs/L0103000.log", "left4dead2/addons/sourcemod/logs/L20250105.log", "left4dead2/logs/notes.txt", "left4dead2/other.log",
		"left4dead2/logs/link.log", "left4dead2/logs/dir.log", "left4dead2/logs/fifo.log"}
	for _, g := range gone {
		if _, err := os.Lstat(p(g)); !os.IsNotExist(err) {
			t.Errorf("%s: not removed (%v)", g, err)
		}
	}
	for _, k := range kept {
		if _, err := os.Lstat(p(k)); err != nil {
			t.Errorf("%s: removed: %v", k, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(outside, "victim.log")); err != nil || string(b) != "keep me" {
		t.Errorf("the link's target: %q %v", b, err)
	}
	if res.Removed != len(gone) || res.Kept != 2 {
		t.Errorf("result %+v, want %d removed, 2 kept", res, len(gone))
	}

	fd2, err := unix.Open(root2, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd2)
	res, err = pruneLogs(fd2, root2, LogBounds{Days: 1, Bytes: 1}, now)
	if err != nil || res.Removed != 0 || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "symbolic link") {
		t.Errorf("a logs dir that is a link: %+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "victim.log")); err != nil {
		t.Errorf("pruned through a link: %v", err)
	}
}

// While the server runs, each directory's newest file stays whatever its
// size (it is the one being written); the rest still go oldest first.
func TestPruneLogsKeepNewest(t *testing.T) {
	now := time.Now()
	root := t.TempDir()
	for i, name := range []string{"L1.log", "L2.log", "L3.log"} {
		path := filepath.Join(root, "left4dead2/logs", name)
		mk(t, path, strings.Repeat("x", 64<<10), 0o644)
		at := now.Add(time.Duration(i-3) * time.Hour)
		must(t, os.Chtimes(path, at, at))
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	if _, err := pruneLogs(fd, root, LogBounds{Days: 7, Bytes: 1 << 10, KeepNewest: true}, now); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(root, "left4dead2/logs/*"))
	if len(names) != 1 || filepath.Base(names[0]) != "L3.log" {
		t.Errorf("left %v, want the newest alone", names)
	}
}

// A huge log directory is read in part, and the start goes on.
func TestPruneLogsBounded(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "left4dead2/logs")
	must(t, os.MkdirAll(dir, 0o755))
	for i := 0; i < maxLogEntries+10; i++ {
		f, err := os.Create(filepath.Join(dir, "x"+strconv.Itoa(i)+".log"))
		must(t, err)
		f.Close()
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	res, err := pruneLogs(fd, root, LogBounds{Days: 1, Bytes: 1}, time.Now())
	if err != nil || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "first 20000 logs") {
		t.Errorf("%+v %v", res, err)
	}
}

// Names that are not logs, however many, cannot hide the logs from the
// prune (the cap counts logs, not entries).
func TestPruneLogsNotHidden(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "left4dead2/logs")
	must(t, os.MkdirAll(dir, 0o755))
	for i := 0; i < maxLogEntries+10; i++ {
		f, err := os.Create(filepath.Join(dir, "junk"+strconv.Itoa(i)))
		must(t, err)
		f.Close()
	}
	old := time.Now().Add(-30 * 24 * time.Hour)
	for i := 0; i < 3; i++ {
		p := filepath.Join(dir, "L"+strconv.Itoa(i)+".log")
		mk(t, p, "old", 0o644)
		must(t, os.Chtimes(p, old, old))
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	res, err := pruneLogs(fd, root, LogBounds{Days: 7, Bytes: 1 << 30}, time.Now())
	if err != nil || res.Removed != 3 {
		t.Errorf("%+v %v", res, err)
	}
}

// A start prunes the upper layer's logs by the spec's bounds, before the
// disk ceiling is checked, and records the instance's usage.
func TestStartPrunesLogs(t *testing.T) {
	e := newEnv(t, "")
	s, err := spec.Judge(e.c.Layout, "srv")
	must(t, err)
	p := s.StartPlan()
	p.Disk, p.LogDays, p.LogBytes = 1<<20, 7, 512<<10
	old := e.path("runtime/srv/upper/left4dead2/logs/L0101000.log")
	mk(t, old, "old", 0o644)
	long := time.Now().Add(-30 * 24 * time.Hour)
	must(t, os.Chtimes(old, long, long))
	big := e.path("runtime/srv/upper/left4dead2/addons/sourcemod/logs/L20250101.log")
	mk(t, big, strings.Repeat("x", 900<<10), 0o644)
	if err := Start(e.c, "srv", p); err != nil {
		t.Fatalf("logs over the disk ceiling are pruned first: %v", err)
	}
	defer Stop(e.c, "srv")
	for _, f := range []string{old, big} {
		if _, err := os.Lstat(f); !os.IsNotExist(err) {
			t.Errorf("%s: not pruned (%v)", f, err)
		}
	}
	if !strings.Contains(e.log.String(), "logs: removed 2 old log file(s)") {
		t.Errorf("the start does not say what it pruned:\n%s", e.log)
	}
	b, err := os.ReadFile(e.path("runtime/srv/usage"))
	if err != nil || len(strings.Fields(string(b))) != 2 {
		t.Errorf("usage record: %q %v", b, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The cap counts matching names: junk first in the directory's order does
// not use it up.
func TestReadDirNamesMaxCountsMatches(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 1000; i++ {
		mk(t, filepath.Join(dir, "junk"+strconv.Itoa(i)), "", 0o644)
	}
	for i := 0; i < 5; i++ {
		mk(t, filepath.Join(dir, "L"+strconv.Itoa(i)+".log"), "", 0o644)
	}
	for _, c := range []struct {
		max  int
		n    int
		full bool
	}{{3, 3, false}, {10, 5, true}} {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		must(t, err)
		names, full, err := readDirNamesMax(fd, c.max, isLog)
		unix.Close(fd)
		if err != nil || len(names) != c.n || full != c.full {
			t.Errorf("max %d: %v %v %v", c.max, names, full, err)
		}
		for _, n := range names {
			if !isLog(n) {
				t.Errorf("max %d: %s is no log", c.max, n)
			}
		}
	}
}
