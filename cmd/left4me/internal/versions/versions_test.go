package versions

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"

	"github.com/left4me/left4me/tests/testroot"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/tests/treetest"
)

const (
	id1 = "100-20251101T000000Z"
	id2 = "200-20251126T120000Z"
)

func manifest(build string) string {
	return "\"AppState\"\n{\n\t\"appid\"\t\t\"222860\"\n\t\"StateFlags\"\t\t\"4\"\n\t\"buildid\"\t\t\"" + build + "\"\n}\n"
}

// baseTree is version 1 as steamcmd would have left it.
var baseTree = map[string]string{
	"srcds_run":                        "#!/bin/sh\n",
	"left4dead2/who.txt":               "v1",
	"left4dead2/keep.txt":              "unchanged",
	"left4dead2/gone.txt":              "deleted in v2",
	"left4dead2/mode.txt":              "chmod in v2",
	"gonedir/x":                        "whole dir deleted in v2",
	"rd/a":                             "dir replaced in v2",
	"deep/a/b/c.txt":                   "untouched dir",
	"steamapps/appmanifest_222860.acf": manifest("100"),
	"left4dead2/sl":                    "->who.txt",
	"left4dead2/cfg/server_default_extra.cfg": "x",
}

// writeTree writes files below dir; srcds_run is executable, as in a real
// installation.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := treetest.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	for rel, body := range files {
		if strings.HasSuffix(rel, "srcds_run") && !strings.HasPrefix(body, "->") {
			if err := os.Chmod(filepath.Join(dir, rel), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// entry is what a snapshot records of one path.
type entry struct {
	mode  fs.FileMode
	ino   uint64
	body  string
	mtime time.Time
}

func snapshot(t *testing.T, dir string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		e := entry{mode: st.Mode(), ino: st.Sys().(*syscall.Stat_t).Ino, mtime: st.ModTime()}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			e.body, _ = os.Readlink(p)
			e.body = "->" + e.body
		case st.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			e.body = string(b)
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newStore(t *testing.T) Store {
	t.Helper()
	s := Store{Root: t.TempDir()}
	writeTree(t, s.Path(id1), baseTree)
	if err := os.Symlink(Dir+"/"+id1, s.LinkPath()); err != nil {
		t.Fatal(err)
	}
	return s
}

// rewriteInPlace does what steamcmd may do to an existing file: open it
// for writing with O_TRUNC, same path, same inode.
func rewriteInPlace(t *testing.T, path, body string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHardLinksAloneAreNotEnough is the premise of the design: a version
// seeded by hard links shares inodes with the old one, and an in-place
// rewrite through the new path changes the old version too.
func TestHardLinksAloneAreNotEnough(t *testing.T) {
	dir := t.TempDir()
	old, seeded := filepath.Join(dir, "old.txt"), filepath.Join(dir, "new.txt")
	writeTree(t, dir, map[string]string{"old.txt": "v1"})
	if err := os.Link(old, seeded); err != nil {
		t.Fatal(err)
	}
	rewriteInPlace(t, seeded, "v2")
	if b, _ := os.ReadFile(old); string(b) != "v2" {
		t.Fatalf("expected the shared inode to change the old version; old reads %q", b)
	}
}

func TestStageKeepsTheBaseAndSharesUnchangedFiles(t *testing.T) {
	testroot.Require(t, "mount tests")
	s := newStore(t)
	base := s.Path(id1)
	before := snapshot(t, base)
	st, err := s.NewStage(base)
	if err != nil {
		t.Fatal(err)
	}
	m := st.Target
	if m == st.Upper {
		t.Fatal("no overlay over the base")
	}
	// What an update may do. keep.txt and deep/a/b/c.txt are rewritten
	// in place with the bytes they had (a validate pass, a platform
	// switch): they must still share the base's inodes afterwards.
	rewriteInPlace(t, filepath.Join(m, "left4dead2/keep.txt"), "unchanged")
	rewriteInPlace(t, filepath.Join(m, "deep/a/b/c.txt"), "untouched dir")
	rewriteInPlace(t, filepath.Join(m, "left4dead2/who.txt"), "v2")
	rewriteInPlace(t, filepath.Join(m, "steamapps/appmanifest_222860.acf"), manifest("200"))
	writeTree(t, m, map[string]string{"left4dead2/new.txt": "new in v2", "newdir/y": "new dir"})
	for _, p := range []string{"left4dead2/gone.txt", "gonedir"} {
		if err := os.RemoveAll(filepath.Join(m, p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.RemoveAll(filepath.Join(m, "rd")); err != nil {
		t.Fatal(err)
	}
	writeTree(t, m, map[string]string{"rd/b": "in the replacing dir"})
	if err := os.Chmod(filepath.Join(m, "left4dead2/mode.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The base, which running servers read, is unchanged while staging.
	if got := snapshot(t, base); !sameSnapshot(before, got) {
		t.Fatalf("the base changed during staging:\n%v", diff(before, got))
	}
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, base); !sameSnapshot(before, got) {
		t.Fatalf("the base changed:\n%v", diff(before, got))
	}
	after := snapshot(t, st.Upper)
	want := map[string]string{
		"srcds_run": "#!/bin/sh\n", "left4dead2/who.txt": "v2", "left4dead2/keep.txt": "unchanged",
		"left4dead2/mode.txt": "chmod in v2", "left4dead2/new.txt": "new in v2", "newdir/y": "new dir",
		"rd/b": "in the replacing dir", "deep/a/b/c.txt": "untouched dir",
		"steamapps/appmanifest_222860.acf": manifest("200"), "left4dead2/sl": "->who.txt",
		"left4dead2/cfg/server_default_extra.cfg": "x",
	}
	var files []string
	for rel, e := range after {
		if e.mode.IsDir() {
			continue
		}
		files = append(files, rel)
		if want[rel] != e.body {
			t.Errorf("%s = %q, want %q", rel, e.body, want[rel])
		}
		if e.mode&fs.ModeCharDevice != 0 {
			t.Errorf("%s: a whiteout is left", rel)
		}
	}
	if len(files) != len(want) {
		sort.Strings(files)
		t.Errorf("files %q", files)
	}
	// Untouched files, and those rewritten unchanged, are the base's own
	// inodes: nothing was stored twice.
	for _, rel := range []string{"srcds_run", "left4dead2/keep.txt", "left4dead2/sl", "deep/a/b/c.txt"} {
		if after[rel].ino != before[rel].ino {
			t.Errorf("%s was copied, not linked", rel)
		}
	}
	for _, rel := range []string{"left4dead2/who.txt", "left4dead2/mode.txt"} {
		if after[rel].ino == before[rel].ino {
			t.Errorf("%s shares its inode with the base although it changed", rel)
		}
	}
	if after["left4dead2/mode.txt"].mode.Perm() != 0o600 || before["left4dead2/mode.txt"].mode.Perm() != 0o644 {
		t.Errorf("modes: new %v, base %v", after["left4dead2/mode.txt"].mode, before["left4dead2/mode.txt"].mode)
	}
	if after["deep/a"].ino == before["deep/a"].ino || !after["deep/a"].mode.IsDir() {
		t.Error("directories must be made anew (they cannot be hard-linked)")
	}
	noOverlayAttrs(t, st.Upper)
	dst, err := st.Publish(id2)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, Marker)); string(b) != id2+"\n" {
		t.Errorf("marker %q", b)
	}
	if _, err := os.Stat(st.Dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("staging dir left: %v", err)
	}
	if got := snapshot(t, base); !sameSnapshot(before, got) {
		t.Fatalf("the base changed at publish:\n%v", diff(before, got))
	}
}

func noOverlayAttrs(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		names, _ := listXattrs(p)
		for _, n := range names {
			if strings.HasPrefix(n, xattrPrefix) {
				t.Errorf("%s still has %s", p, n)
			}
		}
		return nil
	})
}

func sameSnapshot(a, b map[string]entry) bool { return len(diff(a, b)) == 0 }

func diff(a, b map[string]entry) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok || v != w {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

func TestAbortLeavesNothing(t *testing.T) {
	testroot.Require(t, "mount tests")
	s := newStore(t)
	before := snapshot(t, s.Path(id1))
	st, err := s.NewStage(s.Path(id1))
	if err != nil {
		t.Fatal(err)
	}
	// Half of a rewrite, then the failure.
	rewriteInPlace(t, filepath.Join(st.Target, "left4dead2/who.txt"), "v")
	if err := st.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, s.Path(id1)); !sameSnapshot(before, got) {
		t.Errorf("base changed: %v", diff(before, got))
	}
	ents, _ := os.ReadDir(s.Dir())
	if len(ents) != 1 {
		t.Errorf("left in the store: %v", ents)
	}
	if cur, err := s.Current(); err != nil || cur.ID != id1 {
		t.Errorf("current %+v %v", cur, err)
	}
}

func TestFirstInstall(t *testing.T) {
	s := Store{Root: t.TempDir()}
	st, err := s.NewStage("")
	if err != nil {
		t.Fatal(err)
	}
	if st.Target != st.Upper {
		t.Fatal("a first install needs no overlay")
	}
	writeTree(t, st.Target, baseTree)
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(id1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Switch(id1); err != nil {
		t.Fatal(err)
	}
	vs, cur, err := s.List()
	if err != nil || cur.ID != id1 || len(vs) != 1 || !vs[0].Current || vs[0].Manifest.BuildID != "100" {
		t.Fatalf("%+v %+v %v", vs, cur, err)
	}
}

func TestSwitch(t *testing.T) {
	s := newStore(t)
	writeTree(t, s.Path(id2), map[string]string{"srcds_run": "x"})
	// A start resolving the link while it is switched sees either version.
	stop := make(chan struct{})
	seen := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				seen <- nil
				return
			default:
			}
			if _, err := os.Stat(filepath.Join(s.LinkPath(), "srcds_run")); err != nil {
				seen <- err
				return
			}
		}
	}()
	for i := 0; i < 200; i++ {
		id := id1
		if i%2 == 0 {
			id = id2
		}
		if _, err := s.Switch(id); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-seen; err != nil {
		t.Fatalf("a reader found no installation: %v", err)
	}
	if target, _ := os.Readlink(s.LinkPath()); target != "installations/"+id1 {
		t.Errorf("link %q", target)
	}
	if m, _ := filepath.Glob(filepath.Join(s.Root, ".installation-new-*")); len(m) != 0 {
		t.Errorf("temporary links left: %v", m)
	}
	if _, err := s.Switch("../x"); err == nil {
		t.Error("bad id accepted")
	}
}

func TestSwitchMigratesLegacy(t *testing.T) {
	s := Store{Root: t.TempDir()}
	writeTree(t, s.LinkPath(), baseTree)
	writeTree(t, s.Path(id2), map[string]string{"srcds_run": "x"})
	cur, err := s.Current()
	if err != nil || !cur.Legacy {
		t.Fatalf("%+v %v", cur, err)
	}
	migrated, err := s.Switch(id2)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(migrated, "100-") || !ValidID(migrated) {
		t.Errorf("migrated as %q", migrated)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Path(migrated), "left4dead2/who.txt")); string(b) != "v1" {
		t.Errorf("legacy tree not moved: %q", b)
	}
	if cur, _ := s.Current(); cur.ID != id2 {
		t.Errorf("current %+v", cur)
	}
}

func TestCurrentRefusesForeignLinks(t *testing.T) {
	cases := []struct{ target, want string }{
		{"/srv/game", "not a link to installations/ID"},
		{"installations/../etc", "not a link to installations/ID"},
		{"installations/" + id2, "missing"},
	}
	for _, c := range cases {
		s := Store{Root: t.TempDir()}
		os.Symlink(c.target, s.LinkPath())
		if _, err := s.Current(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.target, err)
		}
	}
	s := Store{Root: t.TempDir()}
	if cur, err := s.Current(); err != nil || !cur.None() {
		t.Errorf("empty root: %+v %v", cur, err)
	}
}

func TestLock(t *testing.T) {
	s := Store{Root: t.TempDir()}
	release, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(); !errors.Is(err, ErrBusy) {
		t.Errorf("second lock: %v", err)
	}
	release()
	r2, err := s.Lock()
	if err != nil {
		t.Fatal(err)
	}
	r2()
}

func TestNewID(t *testing.T) {
	s := newStore(t)
	at := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	if got := s.NewID("100", at); got != id1+"-2" || !ValidID(got) {
		t.Errorf("collision: %q", got)
	}
	if got := s.NewID("300", at.Add(time.Hour)); got != "300-20251101T010000Z" {
		t.Errorf("%q", got)
	}
	if !Made(id1 + "-2").Equal(at) {
		t.Errorf("made %v", Made(id1+"-2"))
	}
	for _, bad := range []string{"", "x", "100", "../100-20251101T000000Z", "100-20251101T000000Z/x"} {
		if ValidID(bad) {
			t.Errorf("%q valid", bad)
		}
	}
}

// mountInstance mounts an overlay on runtime/NAME/merged with the version
// as its bottom layer, as the start helper does.
func mountInstance(t *testing.T, s Store, name, version string) {
	t.Helper()
	rt := filepath.Join(s.Root, "runtime", name)
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(rt, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(version, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	opts := "lowerdir=/proc/self/fd/" + itoa(fd) + ",upperdir=" + rt + "/upper,workdir=" + rt + "/work"
	if err := unix.Mount("overlay", rt+"/merged", "overlay", 0, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(rt+"/merged", unix.MNT_DETACH) })
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestInUseAndGC(t *testing.T) {
	testroot.Require(t, "mount tests")
	s := newStore(t) // id1 has no marker: made by hand
	st, err := s.NewStage(s.Path(id1))
	if err != nil {
		t.Fatal(err)
	}
	rewriteInPlace(t, filepath.Join(st.Target, "steamapps/appmanifest_222860.acf"), manifest("200"))
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(id2); err != nil {
		t.Fatal(err)
	}
	const id3 = "300-20251127T000000Z"
	writeTree(t, s.Path(id3), map[string]string{"srcds_run": "x"}) // no manifest, no marker
	mountInstance(t, s, "old", s.Path(id1))
	if _, err := s.Switch(id2); err != nil {
		t.Fatal(err)
	}
	mountInstance(t, s, "new", s.Path(id2))
	mountInstance(t, s, "rec", s.Path(id2))
	os.WriteFile(filepath.Join(s.Root, "runtime/rec", layout.Record), []byte("installations/"+id1+"\n"), 0o644)
	os.MkdirAll(filepath.Join(s.Root, "runtime/stopped/merged"), 0o755)

	vs, cur, err := s.List()
	if err != nil || cur.ID != id2 || len(vs) != 3 {
		t.Fatalf("%+v %+v %v", vs, cur, err)
	}
	uses, err := s.InUse(vs)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range uses {
		got[u.Instance] = u.Version + " by " + u.How
	}
	want := map[string]string{
		"old": id1 + " by app manifest",
		"new": id2 + " by version marker",
		"rec": id1 + " by recorded at start",
	}
	if len(got) != len(want) {
		t.Errorf("uses %v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	plan, err := PlanGC(vs, uses)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Remove) != 1 || plan.Remove[0].ID != id3 || len(plan.Keep) != 2 {
		t.Fatalf("plan %+v", plan)
	}
	if plan.Keep[0].Reason != "in use by old, rec" || plan.Keep[1].Reason != "current" {
		t.Errorf("reasons %+v", plan.Keep)
	}
	release, err := s.LockInstances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Trash(plan.Remove[0]); err != nil {
		t.Fatal(err)
	}
	release()
	if err := s.EmptyTrash(); err != nil {
		t.Fatal(err)
	}
	if vs, _, _ := s.List(); len(vs) != 2 {
		t.Errorf("after gc: %+v", vs)
	}
}

func TestPlanGCRefusesUnknown(t *testing.T) {
	vs := []Version{{ID: id1, Current: true}, {ID: id2}}
	_, err := PlanGC(vs, []Use{{Instance: "x", How: "no record"}})
	if !errors.Is(err, ErrUnknownUse) || !strings.Contains(err.Error(), "x (no record)") {
		t.Errorf("%v", err)
	}
	plan, err := PlanGC([]Version{{Legacy: true, Current: true, Path: "/x"}}, nil)
	if err != nil || len(plan.Remove) != 0 {
		t.Errorf("legacy: %+v %v", plan, err)
	}
	if err := (Store{Root: t.TempDir()}).Trash(Version{Legacy: true, Path: "/x"}); err == nil {
		t.Error("trashed the legacy installation")
	}
}

func TestLockInstancesWaitsForAStart(t *testing.T) {
	s := Store{Root: t.TempDir()}
	dir := filepath.Join(s.Root, "runtime", "a")
	os.MkdirAll(dir, 0o755)
	fd, _ := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	unix.Flock(fd, unix.LOCK_EX) // a start helper at work
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := s.LockInstances(ctx); err == nil || !strings.Contains(err.Error(), "stays locked by a start or stop of a") {
		t.Errorf("%v", err)
	}
	go func() { time.Sleep(200 * time.Millisecond); unix.Close(fd) }()
	release, err := s.LockInstances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestCleanStaleAndRemoveTree(t *testing.T) {
	testroot.Require(t, "mount tests")
	s := newStore(t)
	st, err := s.NewStage(s.Path(id1)) // then "killed": mounted, not removed
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, st.Target, map[string]string{"junk": "x"})
	os.Symlink("x", filepath.Join(s.Root, linkTmpPrefix+id2))
	removed, err := s.CleanStale()
	if err != nil || len(removed) != 2 {
		t.Fatalf("%v %v", removed, err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Path(id1), "left4dead2/who.txt")); string(b) != "v1" {
		t.Error("the base was emptied through the mount")
	}
	// A mount below a tree is never descended into.
	d := filepath.Join(t.TempDir(), "tree")
	os.MkdirAll(filepath.Join(d, "m"), 0o755)
	if err := unix.Mount(s.Path(id1), filepath.Join(d, "m"), "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(filepath.Join(d, "m"), unix.MNT_DETACH)
	if err := fsat.RemoveTree(d, fsat.RemoveOptions{}); err == nil || !strings.Contains(err.Error(), "mount point") {
		t.Errorf("%v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Path(id1), "srcds_run")); err != nil {
		t.Error("removed through a bind mount")
	}
}

// Windows-only files a windows pass leaves are not carried into versions.
func TestDropWindowsOnly(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"srcds.exe": "MZ", "bin/engine.dll": "MZ", "bin/ENGINE2.DLL": "MZ",
		"left4dead2/bin/server.dll": "MZ", "srcds_linux": "ELF", "bin/engine_srv.so": "ELF", "left4dead2/cfg/dll.cfg": "x"})
	n, err := DropWindowsOnly(dir)
	if err != nil || n != 4 {
		t.Fatalf("%d %v", n, err)
	}
	for _, keep := range []string{"srcds_linux", "bin/engine_srv.so", "left4dead2/cfg/dll.cfg"} {
		if _, err := os.Stat(filepath.Join(dir, keep)); err != nil {
			t.Errorf("%s: %v", keep, err)
		}
	}
}
