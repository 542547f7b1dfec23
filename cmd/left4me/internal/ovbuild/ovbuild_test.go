package ovbuild

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/testroot"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/specfile"
)

func mkLayer(t *testing.T, s Store, name, id, who string) {
	t.Helper()
	layer := filepath.Join(s.BuildDir(name, id), "layer")
	if err := os.MkdirAll(filepath.Join(layer, "left4dead2"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(layer, "left4dead2", "who.txt"), []byte(who), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarker(layer, name, id); err != nil {
		t.Fatal(err)
	}
}

func readWho(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "left4dead2", "who.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSwitch(t *testing.T) {
	cases := []struct {
		name     string
		existing string // "" none, "hand" unversioned dir, else an ID
		wantOld  bool
	}{
		{"first version", "", false},
		{"replaces a version", "20250101T000000Z", true},
		{"replaces a hand-made overlay", "hand", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Store{Root: t.TempDir()}
			cur := s.Current("mods")
			if c.existing != "" {
				if err := os.MkdirAll(filepath.Join(cur, "left4dead2"), 0o755); err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(cur, "left4dead2", "who.txt"), []byte("old"), 0o644)
				if c.existing != "hand" {
					WriteMarker(cur, "mods", c.existing)
				}
			}
			// An open descriptor stands for a running instance's mount.
			var held *os.File
			if c.existing != "" {
				held, _ = os.Open(cur)
				defer held.Close()
			}
			id := "20260101T000000Z"
			mkLayer(t, s, "mods", id, "new")
			old, err := s.Switch("mods", id)
			if err != nil {
				t.Fatal(err)
			}
			if got := readWho(t, cur); got != "new" {
				t.Errorf("current has %q", got)
			}
			if m, _ := ReadMarker(cur, "mods"); m != id {
				t.Errorf("current marker %q", m)
			}
			if (old != "") != c.wantOld {
				t.Fatalf("old = %q", old)
			}
			if c.existing != "hand" && c.existing != "" && old != c.existing {
				t.Errorf("old = %q, want %q", old, c.existing)
			}
			if old != "" {
				if got := readWho(t, s.Old("mods", old)); got != "old" {
					t.Errorf("old version has %q", got)
				}
				b, err := os.ReadFile(filepath.Join(held.Name(), "..", "..", BuildsDir, "mods", old, "left4dead2", "who.txt"))
				if err != nil || string(b) != "old" {
					t.Errorf("old version: %q %v", b, err)
				}
				// What the "instance" holds is still the old tree.
				f, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(held.Fd()))+"/left4dead2/who.txt", os.O_RDONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				b, _ = readAll(f)
				if string(b) != "old" {
					t.Errorf("held directory now shows %q", b)
				}
			}
			if _, err := os.Lstat(s.BuildDir("mods", id)); !os.IsNotExist(err) {
				t.Errorf("build dir left: %v", err)
			}
			vs, err := s.List("mods")
			if err != nil {
				t.Fatal(err)
			}
			if n := len(vs); n != 1+map[bool]int{true: 1}[c.wantOld] || !vs[n-1].Current || vs[n-1].ID != id {
				t.Errorf("List = %+v", vs)
			}
		})
	}
}

func readAll(f *os.File) ([]byte, error) {
	defer f.Close()
	b := make([]byte, 64)
	n, err := f.Read(b)
	return b[:n], err
}

func TestSwitchRefusesWithoutMarker(t *testing.T) {
	s := Store{Root: t.TempDir()}
	os.MkdirAll(filepath.Join(s.BuildDir("mods", "20260101T000000Z"), "layer"), 0o755)
	if _, err := s.Switch("mods", "20260101T000000Z"); err == nil {
		t.Fatal("switched a layer without marker")
	}
	if _, err := os.Lstat(s.Current("mods")); !os.IsNotExist(err) {
		t.Error("current was created")
	}
}

func TestCleanStale(t *testing.T) {
	s := Store{Root: t.TempDir()}
	// An unfinished build: removed.
	mkLayer(t, s, "mods", "20260102T000000Z", "unfinished")
	// A build switched before the crash: its layer holds the old version.
	mkLayer(t, s, "mods", "20260103T000000Z", "old")
	os.Remove(filepath.Join(s.BuildDir("mods", "20260103T000000Z"), "layer", Marker("mods")))
	WriteMarker(filepath.Join(s.BuildDir("mods", "20260103T000000Z"), "layer"), "mods", "20250101T000000Z")
	done, err := s.CleanStale("mods")
	if err != nil || len(done) != 2 {
		t.Fatalf("CleanStale = %q, %v", done, err)
	}
	if got := readWho(t, s.Old("mods", "20250101T000000Z")); got != "old" {
		t.Errorf("retired version has %q", got)
	}
	ents, _ := os.ReadDir(s.Dir("mods"))
	if len(ents) != 1 {
		t.Errorf("left in %s: %v", s.Dir("mods"), ents)
	}
}

func TestPlanGC(t *testing.T) {
	vs := []Version{{ID: "a"}, {ID: "b"}, {ID: "c", Current: true}}
	cases := []struct {
		name   string
		uses   []Use
		remove string
	}{
		{"nothing runs", nil, "a b"},
		{"instance on old b", []Use{{Instance: "x", Version: "b"}}, "a"},
		{"instance on current", []Use{{Instance: "x", Version: "c"}}, "a b"},
		{"unknown version keeps all", []Use{{Instance: "x"}}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := PlanGC(vs, c.uses)
			var got []string
			for _, v := range p.Remove {
				got = append(got, v.ID)
			}
			if strings.Join(got, " ") != c.remove {
				t.Errorf("remove %q, want %q (keep %+v)", got, c.remove, p.Keep)
			}
			for _, k := range p.Keep {
				if k.Version.Current && k.Reason != "current" {
					t.Errorf("current kept for %q", k.Reason)
				}
			}
		})
	}
}

func TestRemoveAndGC(t *testing.T) {
	s := Store{Root: t.TempDir()}
	for i, id := range []string{"20250101T000000Z", "20250102T000000Z", "20250103T000000Z"} {
		mkLayer(t, s, "mods", id, "v")
		if _, err := s.Switch("mods", id); err != nil {
			t.Fatal(i, err)
		}
	}
	vs, _ := s.List("mods")
	uses, err := s.InUse("mods", vs, nil)
	if err != nil || len(uses) != 0 {
		t.Fatalf("InUse = %v, %v", uses, err)
	}
	p := PlanGC(vs, uses)
	if len(p.Remove) != 2 {
		t.Fatalf("plan %+v", p)
	}
	for _, v := range p.Remove {
		if err := s.Trash("mods", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Trash("mods", vs[len(vs)-1]); err == nil {
		t.Error("trashed the current version")
	}
	// Out of use at once, deleted later.
	vs, _ = s.List("mods")
	if len(vs) != 1 || !vs[0].Current {
		t.Errorf("after trashing: %+v", vs)
	}
	if done, err := s.EmptyTrash("mods"); err != nil || strings.Join(done, " ") != p.Remove[0].ID+" "+p.Remove[1].ID {
		t.Fatalf("EmptyTrash = %q, %v", done, err)
	}
	// What an interrupted gc left goes with the next build's CleanStale.
	mkLayer(t, s, "mods", "20250104T000000Z", "v")
	if err := os.Rename(s.BuildDir("mods", "20250104T000000Z"), filepath.Join(s.Dir("mods"), trashPrefix+"20250104T000000Z")); err != nil {
		t.Fatal(err)
	}
	done, err := s.CleanStale("mods")
	if err != nil || len(done) != 1 || !strings.Contains(done[0], "an interrupted gc left") {
		t.Errorf("CleanStale = %q, %v", done, err)
	}
	ents, _ := os.ReadDir(s.Dir("mods"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), trashPrefix) {
			t.Errorf("left %s", e.Name())
		}
	}
}

func TestScan(t *testing.T) {
	testroot.Require(t, "chown")
	cases := []struct {
		name    string
		setup   func(dir string) error
		refuse  bool
		note    string
		checkFn func(t *testing.T, dir string)
	}{
		{"plain", func(d string) error { return os.WriteFile(filepath.Join(d, "f"), nil, 0o666) }, false, "",
			func(t *testing.T, d string) {
				st, _ := os.Lstat(filepath.Join(d, "f"))
				if st.Mode().Perm() != 0o644 || st.Sys().(*syscall.Stat_t).Uid != 0 {
					t.Errorf("mode %v uid %d", st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
				}
			}},
		{"setuid stripped", func(d string) error {
			p := filepath.Join(d, "s")
			os.WriteFile(p, nil, 0o755)
			os.Chown(p, 1000, 1000)
			return os.Chmod(p, 0o4755|os.ModeSetuid)
		}, false, "setuid/setgid bit removed", func(t *testing.T, d string) {
			st, _ := os.Lstat(filepath.Join(d, "s"))
			if st.Mode()&os.ModeSetuid != 0 {
				t.Error("setuid kept")
			}
		}},
		{"fifo refused", func(d string) error { return syscall.Mkfifo(filepath.Join(d, "p"), 0o644) }, true, "", nil},
		{"device refused", func(d string) error { return syscall.Mknod(filepath.Join(d, "null"), syscall.S_IFCHR|0o666, 1<<8|3) }, true, "", nil},
		{"link outside reported", func(d string) error { return os.Symlink("../../etc/passwd", filepath.Join(d, "l")) }, false, "points outside", nil},
		{"link inside fine", func(d string) error { return os.Symlink("f", filepath.Join(d, "l")) }, false, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			if err := c.setup(d); err != nil {
				t.Fatal(err)
			}
			notes, err := Scan(d)
			if (err != nil) != c.refuse {
				t.Fatalf("Scan err = %v, refuse %v", err, c.refuse)
			}
			if c.note != "" && !strings.Contains(strings.Join(notes, "\n"), c.note) {
				t.Errorf("notes %q lack %q", notes, c.note)
			}
			if c.note == "" && len(notes) > 0 {
				t.Errorf("unexpected notes %q", notes)
			}
			if c.checkFn != nil {
				c.checkFn(t, d)
			}
		})
	}
}

func TestParseDef(t *testing.T) {
	cases := []struct {
		name, yaml, err string
	}{
		{"minimal", "builder: b.sh\n", ""},
		{"full", "builder: /x/b.sh\nrestart: [a, b]\ntimeout: 10m\nmemory_max: 1G\ntasks_max: 64\n", ""},
		{"no builder", "restart: [a]\n", "mods.yaml: builder: required"},
		{"unknown key", "builder: b\nfoo: 1\n", "mods.yaml:2:1: foo: unknown key"},
		{"a typo", "buildr: b\n", "mods.yaml:1:1: buildr: unknown key; did you mean builder?"},
		{"bad instance", "builder: b\nrestart: ['../x']\n", "mods.yaml:2:10: restart: "},
		{"bad memory", "builder: b\nmemory_max: lots\n", `mods.yaml:2:13: memory_max: "lots" is not a size`},
		{"bad timeout", "builder: b\ntimeout: 10\n", `mods.yaml:2:10: timeout: want a duration such as 90s, 30m or 2h, not int 10`},
		// Every problem at once, top to bottom.
		{"all at once", "tasks_max: 0\nmemory_max: lots\nfoo: 1\n", "mods.yaml: builder: required (the script that fills the layer, relative to /etc/left4me/overlays)\n/etc/left4me/overlays/mods.yaml:2:13: memory_max: \"lots\" is not a size such as 512M or 2G\n/etc/left4me/overlays/mods.yaml:3:1: foo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ParseDef("mods", "/etc/left4me/overlays/mods.yaml", []byte(c.yaml))
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !filepath.IsAbs(d.Builder) || d.Timeout <= 0 || d.Tasks <= 0 {
					t.Errorf("%+v", d)
				}
				if c.name == "full" && d.Timeout != 10*time.Minute {
					t.Errorf("timeout %v", d.Timeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "mods.yaml") {
				t.Errorf("err = %v, want %q and the file", err, c.err)
			}
		})
	}
}

// Two builds in one second get different IDs, also when the first failed
// and left nothing but its result record (its unit name and journal
// entries carry the ID).
func TestNewIDNeverReusesTheLastBuild(t *testing.T) {
	s := Store{Root: t.TempDir()}
	at := time.Date(2026, 11, 26, 2, 28, 45, 0, time.UTC)
	first := s.NewID("mods", at)
	if first != "20261126T022845Z" {
		t.Fatalf("first ID %q", first)
	}
	if err := os.MkdirAll(s.Dir("mods"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveResult("mods", Result{ID: first, Started: at}); err != nil {
		t.Fatal(err)
	}
	second := s.NewID("mods", at)
	if second == first || !ValidID(second) {
		t.Fatalf("after a failed build %q the next ID is %q", first, second)
	}
	mkLayer(t, s, "mods", second, "x")
	if third := s.NewID("mods", at); third == first || third == second || !ValidID(third) {
		t.Fatalf("with %q failed and %q building, the next ID is %q", first, second, third)
	}
}

// An overlay definition that is a link is refused, never followed.
func TestLoadDefRefusesLink(t *testing.T) {
	l := layout.Layout{ConfigDir: t.TempDir(), Root: t.TempDir()}
	if err := os.MkdirAll(DefDir(l), 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("builder: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(DefDir(l), "mods.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err := LoadDef(l, "mods")
	if !errors.Is(err, specfile.ErrSymlink) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("got %v", err)
	}
}

// A builder cannot make the next build keep its unfinished layer as an
// "older version" by planting a marker (it cannot make one root's), and a
// directory whose build unit still runs is left alone.
func TestCleanStaleDistrusts(t *testing.T) {
	s := Store{Root: t.TempDir()}
	const forged, running = "20260104T000000Z", "20260105T000000Z"
	mkLayer(t, s, "mods", forged, "evil")
	layer := filepath.Join(s.BuildDir("mods", forged), "layer")
	os.Remove(filepath.Join(layer, Marker("mods")))
	WriteMarker(layer, "mods", "20250101T000000Z")
	for _, p := range []string{layer, filepath.Join(layer, Marker("mods"))} {
		if err := os.Lchown(p, 65534, 65534); err != nil { // as the builder left it
			t.Fatal(err)
		}
	}
	mkLayer(t, s, "mods", running, "busy")
	s.UnitActive = func(unit string) bool { return unit == UnitName("mods", running) }
	done, err := s.CleanStale("mods")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Old("mods", "20250101T000000Z")); err == nil {
		t.Error("the forged marker made the unfinished build an older version")
	}
	if _, err := os.Stat(s.BuildDir("mods", forged)); !os.IsNotExist(err) {
		t.Errorf("the unfinished build is still there: %v", err)
	}
	if readWho(t, filepath.Join(s.BuildDir("mods", running), "layer")) != "busy" || !strings.Contains(strings.Join(done, "\n"), "still runs") {
		t.Errorf("a running build's directory was touched: %q", done)
	}
}

// A builder's output reaches the operator escaped: no ESC sequence, no
// forged line.
func TestFollowEscapes(t *testing.T) {
	in := `{"MESSAGE":"\u001b]52;c;aGk=\u0007\u001b[2J"}` + "\n" +
		`{"MESSAGE":"done\rleft4me: switched in"}` + "\n" +
		`{"MESSAGE":[27,91,50,74,255],"_PID":"7"}` + "\n"
	var out strings.Builder
	follow(strings.NewReader(in), &out, make(chan string, 1))
	want := `\x1b]52;c;aGk=\a\x1b[2J` + "\n" + `done\rleft4me: switched in` + "\n" + `\x1b[2J\xff` + "\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

// The attack on Scan: the builder (its unit still alive, or a process it
// left) swaps a file of its layer with a link to a victim file while root
// scans. The victim's owner and mode never change.
func TestScanRacingSwap(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim.cfg")
	if err := os.WriteFile(victim, []byte("secret"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(victim, 1234, 1234); err != nil {
		t.Fatal(err)
	}
	os.Chmod(victim, 0o666)
	for round := range 300 {
		layer := filepath.Join(base, "layer")
		target := filepath.Join(layer, "cfg", "server.cfg")
		os.MkdirAll(filepath.Dir(target), 0o777)
		os.WriteFile(target, []byte("x"), 0o666)
		link := filepath.Join(base, "link")
		os.RemoveAll(link)
		os.Symlink(victim, link)
		var stop atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			for !stop.Load() {
				_ = unix.Renameat2(unix.AT_FDCWD, link, unix.AT_FDCWD, target, unix.RENAME_EXCHANGE)
			}
		}()
		_, _ = Scan(layer)
		stop.Store(true)
		<-done
		os.RemoveAll(layer)
		os.RemoveAll(link)
		var st syscall.Stat_t
		if err := syscall.Stat(victim, &st); err != nil || st.Uid != 1234 || st.Mode&0o777 != 0o666 {
			t.Fatalf("round %d: the victim was changed: uid %d mode %o %v", round, st.Uid, st.Mode&0o777, err)
		}
	}
}

// An overlay's bad name is said of an overlay, and still is the name
// rule's error (exit code 2).
func TestValidName(t *testing.T) {
	err := ValidName("../x")
	if err == nil || !strings.HasPrefix(err.Error(), `invalid overlay name: "../x" must start with a letter or digit`) || !errors.Is(err, layout.ErrInvalidName) {
		t.Errorf("got %v", err)
	}
	if err := ValidName("mods-2"); err != nil {
		t.Errorf("mods-2: %v", err)
	}
}

// gc moves the versions out of use under the instances' locks and deletes
// them only after it gave the locks back, so no start waits for a delete.
func TestGCDeletesAfterTheLocks(t *testing.T) {
	s := Store{Root: t.TempDir()}
	ids := []string{"20250101T000000Z", "20250102T000000Z", "20250103T000000Z"}
	for _, id := range ids {
		mkLayer(t, s, "mods", id, "v")
		if _, err := s.Switch("mods", id); err != nil {
			t.Fatal(err)
		}
	}
	trash := func() []string {
		ps, _ := filepath.Glob(filepath.Join(s.Dir("mods"), trashPrefix+"*"))
		return ps
	}
	noUsers := func(string) []string { return nil }
	locked := 0
	env := GCEnv{Users: noUsers, LockInstances: func(context.Context) (func(), error) {
		locked++
		return func() {
			// At the release: out of use, not yet deleted.
			if vs, _ := s.List("mods"); len(vs) != 1 {
				t.Errorf("versions at the locks' release: %+v", vs)
			}
			if len(trash()) != 2 {
				t.Errorf("trash at the locks' release: %q", trash())
			}
		}, nil
	}}

	res, err := s.GC(context.Background(), []string{"mods"}, env, true)
	if err != nil || locked != 0 || len(res) != 1 || strings.Join(res[0].Removed, " ") != ids[0]+" "+ids[1] {
		t.Fatalf("dry run: %+v, %v, locked %d", res, err, locked)
	}
	if vs, _ := s.List("mods"); len(vs) != 3 {
		t.Fatalf("a dry run removed: %+v", vs)
	}

	busy := GCEnv{Users: noUsers, LockInstances: func(context.Context) (func(), error) {
		return nil, errors.New("runtime/a stays locked")
	}}
	if _, err := s.GC(context.Background(), []string{"mods"}, busy, false); err == nil || len(trash()) != 0 {
		t.Fatalf("without the locks: %v, trash %q", err, trash())
	}
	if vs, _ := s.List("mods"); len(vs) != 3 {
		t.Fatalf("removed without the locks: %+v", vs)
	}

	res, err = s.GC(context.Background(), []string{"mods"}, env, false)
	if err != nil || locked != 1 || len(res) != 1 || strings.Join(res[0].Removed, " ") != ids[0]+" "+ids[1] {
		t.Fatalf("gc: %+v, %v, locked %d", res, err, locked)
	}
	if len(trash()) != 0 {
		t.Errorf("left %q", trash())
	}
	if vs, _ := s.List("mods"); len(vs) != 1 || !vs[0].Current || vs[0].ID != ids[2] {
		t.Errorf("after gc: %+v", vs)
	}
}

// A definition or builder that others could change is refused as root:
// the builder runs sandboxed, but what it builds reaches every server
// that mounts the overlay (operator review: a local user could ship a
// plugin into all servers).
func TestLoadDefRefusesWhatOthersCanChange(t *testing.T) {
	testroot.Require(t, "gives files to another user")
	for _, tc := range []struct {
		name string
		file string // relative to the definitions' directory
		mode os.FileMode
		uid  int
		want string // "" passes
	}{
		{"root's", "mods.sh", 0o644, 0, ""},
		{"world-writable builder", "mods.sh", 0o666, 0, "%D/mods.yaml: builder refused: %D/mods.sh is owned by uid 0 with mode 666"},
		{"group-writable builder", "mods.sh", 0o664, 0, "builder refused: %D/mods.sh is owned by uid 0 with mode 664"},
		{"a user's builder", "mods.sh", 0o644, 1000, "builder refused: %D/mods.sh is owned by uid 1000 with mode 644"},
		{"a user's definition", "mods.yaml", 0o644, 1000, "overlay definition refused: %D/mods.yaml is owned by uid 1000 with mode 644"},
		{"world-writable definition", "mods.yaml", 0o666, 0, "overlay definition refused: %D/mods.yaml is owned by uid 0 with mode 666"},
		{"world-writable definitions' directory", ".", 0o777, 0, "overlay definition refused: %D is owned by uid 0 with mode 777"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := layout.Layout{ConfigDir: t.TempDir(), Root: t.TempDir()}
			dir := DefDir(l)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for n, body := range map[string]string{"mods.yaml": "builder: mods.sh\n", "mods.sh": "echo hi\n"} {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := filepath.Join(dir, tc.file)
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, tc.uid, -1); err != nil {
				t.Fatal(err)
			}
			_, err := LoadDef(l, "mods")
			want := strings.ReplaceAll(tc.want, "%D", dir)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Fatalf("got %v, want %q", err, want)
			}
		})
	}
}
