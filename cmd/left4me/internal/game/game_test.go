package game

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/testroot"

	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
)

// rig is a state root, the stand-in steamcmd (tests/steamcmd) and its depot.
type rig struct {
	store versions.Store
	cfg   Config
	depot string
	lines []string
	out   strings.Builder
	waits []time.Duration // the retry waits Update asked for
}

func newRig(t *testing.T) *rig {
	t.Helper()
	testroot.Require(t, "these tests mount overlays")
	dir := t.TempDir()
	bin := filepath.Join(dir, "steamcmd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/left4me/left4me/tests/steamcmd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in steamcmd: %v\n%s", err, out)
	}
	r := &rig{store: versions.Store{Root: filepath.Join(dir, "state")}, depot: filepath.Join(dir, "depot")}
	os.MkdirAll(r.store.Root, 0o755)
	r.cfg = Config{
		Store:  r.store,
		Steam:  steamcmd.Config{Path: bin, Home: SteamHome(r.store.Root), Env: []string{"PATH=/usr/bin:/bin", "STEAMCMD_STANDIN_DEPOT=" + r.depot}},
		Now:    func() time.Time { return time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC) },
		Out:    &r.out,
		OnLine: func(l string) { r.lines = append(r.lines, l) },
		// Retries wait nothing here; the waits asked for are recorded.
		RetryWait: func(n int) time.Duration { r.waits = append(r.waits, DefaultRetryWait(n)); return 0 },
	}
	return r
}

// publish sets what the depot serves.
func (r *rig) publish(t *testing.T, build string, files map[string]string) {
	t.Helper()
	os.RemoveAll(filepath.Join(r.depot, "files"))
	write(t, filepath.Join(r.depot, "build"), build, 0o644)
	for rel, body := range files {
		mode := os.FileMode(0o644)
		if rel == "srcds_run" {
			mode = 0o755
		}
		write(t, filepath.Join(r.depot, "files", rel), body, mode)
	}
}

func write(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ino(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

var v1 = map[string]string{"srcds_run": "#!/bin/sh\n", "left4dead2/who.txt": "v1", "left4dead2/keep.txt": "same", "left4dead2/old.txt": "dropped in v2"}
var v2 = map[string]string{"srcds_run": "#!/bin/sh\n", "left4dead2/who.txt": "v2", "left4dead2/keep.txt": "same", "left4dead2/new.txt": "new"}

func (r *rig) entries(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(r.store.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestInstallThenUpdate(t *testing.T) {
	r := newRig(t)
	r.publish(t, "100", v1)
	if _, err := Update(context.Background(), r.cfg, Request{}); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("update before install: %v", err)
	}
	out, err := Update(context.Background(), r.cfg, Request{Install: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(r.lines, "\n"))
	}
	id1 := "100-20251126T120000Z"
	if out.ID != id1 || out.Build != "100" || out.Previous != "" {
		t.Fatalf("%+v", out)
	}
	if st, err := os.Stat(r.cfg.Steam.Home); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("steamcmd home: %v %v", st, err)
	}
	if !strings.Contains(strings.Join(r.lines, "\n"), "Success! App '222860' fully installed.") {
		t.Errorf("steamcmd output not passed on:\n%s", strings.Join(r.lines, "\n"))
	}
	if _, err := Update(context.Background(), r.cfg, Request{Install: true}); !errors.Is(err, ErrExists) {
		t.Errorf("second install: %v", err)
	}
	old := filepath.Join(r.store.Path(id1), "left4dead2/who.txt")
	oldIno := ino(t, old)

	r.publish(t, "200", v2)
	r.cfg.Now = func() time.Time { return time.Date(2025, 11, 27, 12, 0, 0, 0, time.UTC) }
	out, err = Update(context.Background(), r.cfg, Request{})
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(r.lines, "\n"))
	}
	id2 := "200-20251127T120000Z"
	if out.ID != id2 || out.Previous != id1 {
		t.Fatalf("%+v", out)
	}
	if target, _ := os.Readlink(r.store.LinkPath()); target != "installations/"+id2 {
		t.Errorf("link %q", target)
	}
	// The stand-in rewrote who.txt in place, through the staging overlay.
	if read(t, old) != "v1" || ino(t, old) != oldIno {
		t.Error("the old version's file changed")
	}
	if _, err := os.Stat(filepath.Join(r.store.Path(id1), "left4dead2/old.txt")); err != nil {
		t.Error("the old version lost a file the new one dropped")
	}
	n := r.store.Path(id2)
	if read(t, filepath.Join(n, "left4dead2/who.txt")) != "v2" || read(t, filepath.Join(n, "left4dead2/new.txt")) != "new" {
		t.Error("new version content")
	}
	if _, err := os.Stat(filepath.Join(n, "left4dead2/old.txt")); !os.IsNotExist(err) {
		t.Errorf("dropped file in the new version: %v", err)
	}
	if ino(t, filepath.Join(n, "left4dead2/keep.txt")) != ino(t, filepath.Join(r.store.Path(id1), "left4dead2/keep.txt")) {
		t.Error("an unchanged file was not reused")
	}
	if got := r.entries(t); strings.Join(got, " ") != id1+" "+id2 {
		t.Errorf("store holds %v", got)
	}

	// Same build again: no new version.
	out, err = Update(context.Background(), r.cfg, Request{})
	if err != nil || !out.UpToDate || out.ID != "" {
		t.Fatalf("%+v %v", out, err)
	}
	if got := r.entries(t); len(got) != 2 {
		t.Errorf("store holds %v", got)
	}
	// --force keeps it anyway.
	if out, err = Update(context.Background(), r.cfg, Request{Force: true}); err != nil || out.ID != id2+"-2" {
		t.Errorf("%+v %v", out, err)
	}
}

func TestFailedUpdateChangesNothing(t *testing.T) {
	for _, fail := range []string{"1", "1 exit0", "0"} {
		t.Run(fail, func(t *testing.T) {
			r := newRig(t)
			r.publish(t, "100", v1)
			first, err := Update(context.Background(), r.cfg, Request{Install: true})
			if err != nil {
				t.Fatal(err)
			}
			before := read(t, filepath.Join(r.store.Path(first.ID), "left4dead2/who.txt"))
			r.publish(t, "200", v2)
			write(t, filepath.Join(r.depot, "fail"), fail, 0o644)
			_, err = Update(context.Background(), r.cfg, Request{})
			if err == nil || !strings.Contains(err.Error(), "state is 0x602") || !strings.Contains(err.Error(), "gave up after 5 retries") || !strings.Contains(err.Error(), "nothing was changed: installation -> installations/"+first.ID) {
				t.Fatalf("got %v", err)
			}
			if target, _ := os.Readlink(r.store.LinkPath()); target != "installations/"+first.ID {
				t.Errorf("link %q", target)
			}
			if got := r.entries(t); len(got) != 1 || got[0] != first.ID {
				t.Errorf("store holds %v", got)
			}
			if after := read(t, filepath.Join(r.store.Path(first.ID), "left4dead2/who.txt")); after != before {
				t.Errorf("current version changed: %q", after)
			}
		})
	}
}

// A download that stopped short is retried, with growing waits, in the
// same staging directory; a full disk and an account without the app stop
// at once with what to do.
func TestSteamcmdErrors(t *testing.T) {
	cases := []struct {
		errors string
		ok     bool
		want   string
		runs   int
	}{
		{"0x402 0x602 0x606 0x626 0x6A6", true, "retry 5 of 5", 6},
		{"0x402 0x402 0x402 0x402 0x402 0x402", false, "gave up after 5 retries", 6},
		{"0x202", false, "not enough disk space for the download (steamcmd state 0x202): free space on the filesystem of", 1},
		{"0x602 nosub", false, "the Steam account has no license for app 222860 (No subscription)", 2},
	}
	for _, c := range cases {
		t.Run(c.errors, func(t *testing.T) {
			r := newRig(t)
			r.publish(t, "100", v1)
			if _, err := Update(context.Background(), r.cfg, Request{Install: true}); err != nil {
				t.Fatal(err)
			}
			runs := func() int {
				return strings.Count(read(t, filepath.Join(r.depot, "log")), "app_update 222860 platform=")
			}
			before := runs()
			r.publish(t, "200", v2)
			write(t, filepath.Join(r.depot, "errors"), c.errors, 0o644)
			out, err := Update(context.Background(), r.cfg, Request{})
			text := r.out.String()
			if err != nil {
				text += err.Error()
			}
			if (err == nil) != c.ok || !strings.Contains(text, c.want) {
				t.Fatalf("%+v %v; want ok %v and %q in:\n%s", out, err, c.ok, c.want, text)
			}
			if c.ok && out.Build != "200" {
				t.Errorf("build %q", out.Build)
			}
			if n := runs() - before; n != c.runs {
				t.Errorf("%d app_update runs, want %d", n, c.runs)
			}
			if want := c.runs - 1; len(r.waits) != want || want > 0 && (r.waits[0] != 2*time.Second || want > 1 && r.waits[1] != 4*time.Second) {
				t.Errorf("waits %v, want %d doubling from 2s", r.waits, want)
			}
		})
	}
}

func TestAccountPasswordStaysOutOfArgvAndOutput(t *testing.T) {
	r := newRig(t)
	r.publish(t, "100", v1)
	write(t, filepath.Join(r.depot, "account"), "bob s3cret", 0o600)
	if _, err := Update(context.Background(), r.cfg, Request{Install: true, Login: "bob", Password: "s3cret"}); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(r.lines, "\n"))
	}
	log := read(t, filepath.Join(r.depot, "log"))
	if !strings.Contains(log, "login bob password=ok") || strings.Contains(log, "password-in-argv") || !strings.Contains(log, `argv ["+runscript" "/proc/self/fd/3"]`) {
		t.Errorf("stand-in log:\n%s", log)
	}
	if strings.Contains(strings.Join(r.lines, "\n")+r.out.String(), "s3cret") {
		t.Error("the password reached the output")
	}
	// The login is cached now: an update needs no password.
	r.publish(t, "200", v2)
	if _, err := Update(context.Background(), r.cfg, Request{Login: "bob"}); err != nil {
		t.Fatalf("cached login: %v", err)
	}
	r.publish(t, "300", v1)
	_, err := Update(context.Background(), r.cfg, Request{Login: "bob", Password: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "Invalid Password") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestCancelledUpdateLeavesNothing(t *testing.T) {
	r := newRig(t)
	r.publish(t, "100", v1)
	first, err := Update(context.Background(), r.cfg, Request{Install: true})
	if err != nil {
		t.Fatal(err)
	}
	r.publish(t, "200", v2)
	write(t, filepath.Join(r.depot, "delay"), "10s", 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	r.cfg.OnLine = func(l string) {
		if strings.Contains(l, "progress:") && !strings.Contains(l, "(0 / 0)") {
			cancel()
		}
	}
	start := time.Now()
	if _, err := Update(ctx, r.cfg, Request{}); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 8*time.Second {
		t.Errorf("the stop took %v", time.Since(start))
	}
	if got := r.entries(t); len(got) != 1 || got[0] != first.ID {
		t.Errorf("store holds %v", got)
	}
}

// A stop is said as one ("stopped", context.Canceled), not as the
// steamcmd failure the operator did not wait for: one that comes just
// after steamcmd failed on its own (its exit and the stop race), and one
// that comes while a retry waits (Ctrl-C then exited as steamcmd's
// "state 0x402" failure, not as interrupted).
func TestStoppedAsItFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(r *rig, cancel func())
	}{
		{"just after steamcmd exited", func(r *rig, cancel func()) {
			r.cfg.OnLine = func(l string) {
				if strings.Contains(l, "after update job") {
					// steamcmd exits meanwhile, and its exit is seen first.
					time.Sleep(300 * time.Millisecond)
					cancel()
				}
			}
		}},
		{"while a retry waits", func(r *rig, cancel func()) {
			r.cfg.RetryWait = func(int) time.Duration { cancel(); return time.Hour }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.publish(t, "100", v1)
			if _, err := Update(context.Background(), r.cfg, Request{Install: true}); err != nil {
				t.Fatal(err)
			}
			r.publish(t, "200", v2)
			write(t, filepath.Join(r.depot, "errors"), "0x402\n", 0o644)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tc.setup(r, cancel)
			if _, err := Update(ctx, r.cfg, Request{}); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "0x402") {
				t.Fatalf("%v, want a stop", err)
			}
		})
	}
}

func TestGCDryRun(t *testing.T) {
	r := newRig(t)
	r.publish(t, "100", v1)
	first, _ := Update(context.Background(), r.cfg, Request{Install: true})
	r.publish(t, "200", v2)
	if _, err := Update(context.Background(), r.cfg, Request{}); err != nil {
		t.Fatal(err)
	}
	res, err := GC(context.Background(), r.store, true)
	if err != nil || len(res.Removed) != 1 || res.Removed[0].ID != first.ID {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(r.store.Path(first.ID)); err != nil {
		t.Error("dry run removed")
	}
	if res, err = GC(context.Background(), r.store, false); err != nil || len(res.Removed) != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(r.store.Path(first.ID)); !os.IsNotExist(err) {
		t.Error("not removed")
	}
	st, err := ReadStatus(r.store)
	if err != nil || len(st.Versions) != 1 || !st.Versions[0].Current {
		t.Errorf("%+v %v", st, err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"no manifest", map[string]string{"srcds_run": "x"}, "app manifest"},
		{"half", map[string]string{"steamapps/appmanifest_222860.acf": `"AppState" { "appid" "222860" "buildid" "1" "StateFlags" "1026" }`}, "did not complete"},
		{"no srcds_run", map[string]string{"steamapps/appmanifest_222860.acf": `"AppState" { "appid" "222860" "buildid" "1" "StateFlags" "4" }`}, "no srcds_run"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		for rel, body := range c.files {
			write(t, filepath.Join(dir, rel), body, 0o755)
		}
		if _, err := Validate(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// The real steamcmd's ways, through the stand-in: a first anonymous
// install needs the windows pass and leaves Windows files, which no
// version keeps; an update goes linux first; "Invalid platform" on an
// update falls back to the workaround.
func TestPlatformPasses(t *testing.T) {
	r := newRig(t)
	r.publish(t, "100", v1)
	first, err := Update(context.Background(), r.cfg, Request{Install: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(r.lines, "\n"))
	}
	for _, w := range []string{"srcds.exe", "bin/engine.dll", "left4dead2/bin/server.dll"} {
		if _, err := os.Lstat(filepath.Join(r.store.Path(first.ID), w)); !os.IsNotExist(err) {
			t.Errorf("%s in the first version: %v", w, err)
		}
	}
	if !strings.Contains(r.out.String(), "left out 4 Windows-only file(s)") {
		t.Errorf("steps:\n%s", r.out.String())
	}
	os.Remove(filepath.Join(r.depot, "log"))
	r.publish(t, "200", v2)
	r.cfg.Now = func() time.Time { return time.Date(2025, 11, 27, 12, 0, 0, 0, time.UTC) }
	if _, err := Update(context.Background(), r.cfg, Request{}); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(r.lines, "\n"))
	}
	if log := read(t, filepath.Join(r.depot, "log")); strings.Contains(log, "windows") {
		t.Errorf("an update of a Linux installation ran the windows pass:\n%s", log)
	}
	// A steamcmd that refuses anonymous linux every time: the fallback.
	write(t, filepath.Join(r.depot, "invalidplatform"), "always", 0o644)
	r.publish(t, "300", v1)
	r.cfg.Now = func() time.Time { return time.Date(2025, 11, 28, 12, 0, 0, 0, time.UTC) }
	out, err := Update(context.Background(), r.cfg, Request{})
	if err != nil || out.Build != "300" || !strings.Contains(r.out.String(), `steamcmd says "Invalid platform": retrying with the windows platform first`) {
		t.Fatalf("%+v %v\n%s", out, err, r.out.String())
	}
}

// A steamcmd that rewrites every file in place (a validate pass) stores
// nothing twice: unchanged files share the previous version's inodes.
func TestRewrittenUnchangedFilesAreShared(t *testing.T) {
	r := newRig(t)
	r.publish(t, "100", v1)
	first, err := Update(context.Background(), r.cfg, Request{Install: true})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(r.depot, "rewrite"), "all", 0o644)
	r.publish(t, "200", v2)
	r.cfg.Now = func() time.Time { return time.Date(2025, 11, 27, 12, 0, 0, 0, time.UTC) }
	out, err := Update(context.Background(), r.cfg, Request{Validate: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(r.lines, "\n"))
	}
	o, n := r.store.Path(first.ID), r.store.Path(out.ID)
	for _, rel := range []string{"left4dead2/keep.txt", "srcds_run"} {
		if ino(t, filepath.Join(o, rel)) != ino(t, filepath.Join(n, rel)) {
			t.Errorf("%s was rewritten unchanged and stored again", rel)
		}
	}
	if ino(t, filepath.Join(o, "left4dead2/who.txt")) == ino(t, filepath.Join(n, "left4dead2/who.txt")) {
		t.Error("a changed file shares the old inode")
	}
}

// An account with Steam Guard: without a code the login fails and says
// how to give one; with it, it logs in, and steamcmd keeps the login.
func TestSteamGuard(t *testing.T) {
	r := newRig(t)
	r.publish(t, "100", v1)
	pw := "p{a}(s)'s:w//rd" // what steamcmd's tokenizer mangles unquoted
	write(t, filepath.Join(r.depot, "account"), "bob "+pw+" guard=F4K3X", 0o600)
	_, err := Update(context.Background(), r.cfg, Request{Install: true, Login: "bob", Password: pw})
	if err == nil || !strings.Contains(err.Error(), "--guard-code CODE") {
		t.Fatalf("no code: %v", err)
	}
	if _, err := Update(context.Background(), r.cfg, Request{Install: true, Login: "bob", Password: pw, GuardCode: "F4K3X"}); err != nil {
		t.Fatalf("with the code: %v\n%s", err, strings.Join(r.lines, "\n"))
	}
	r.publish(t, "200", v2)
	r.cfg.Now = func() time.Time { return time.Date(2025, 11, 27, 12, 0, 0, 0, time.UTC) }
	if _, err := Update(context.Background(), r.cfg, Request{Login: "bob"}); err != nil {
		t.Fatalf("the cached login: %v\n%s", err, strings.Join(r.lines, "\n"))
	}
}

// steamcmd answers app_info_print from its cache, however old: the latest
// build is asked without it.
func TestLatestBuildIgnoresTheCache(t *testing.T) {
	r := newRig(t)
	r.cfg.Steam.Env = append(r.cfg.Steam.Env, "XDG_DATA_HOME="+t.TempDir())
	r.publish(t, "100", v1)
	if b, err := steamcmd.LatestBuild(context.Background(), r.cfg.Steam); err != nil || b != "100" {
		t.Fatalf("%q %v", b, err)
	}
	// Debian's steamcmd keeps it below ${XDG_DATA_HOME:-$HOME/.local/share}/Steam;
	// an XDG_DATA_HOME of the caller's does not reach steamcmd.
	if _, err := os.Stat(filepath.Join(r.cfg.Steam.Home, ".local/share/Steam/appcache", steamcmd.AppInfoCache)); err != nil {
		t.Fatalf("the stand-in keeps no cache: %v", err)
	}
	r.publish(t, "200", v2)
	if b, err := steamcmd.LatestBuild(context.Background(), r.cfg.Steam); err != nil || b != "200" {
		t.Fatalf("after a new build: %q %v (stale cache?)", b, err)
	}
}
