package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/tests/testroot"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/game"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
	"github.com/left4me/left4me/spec/layout"
)

func TestGameIntersperse(t *testing.T) {
	app := App(&Env{})
	cases := []struct{ in, want string }{
		{"game update --steamcmd /x --login bob --force", "game update --steamcmd /x --login bob --force"},
		{"game status --offline --json", "game status --offline --json"},
		// Every subcommand owns its flags, wherever they are written.
		{"overlay gc --dry-run", "overlay gc --dry-run"},
		{"overlay build mods --no-restart --when-empty", "overlay build --no-restart --when-empty mods"},
		{"overlay build mods --deadline 5m", "overlay build --deadline 5m mods"},
		{"game --help update", "game --help update"},
	}
	for _, c := range cases {
		got := Intersperse(app, append([]string{"left4me"}, strings.Fields(c.in)...))
		if want := append([]string{"left4me"}, strings.Fields(c.want)...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q", c.in, got)
		}
	}
}

func TestGameUsageErrors(t *testing.T) {
	te := newEnv(t)
	te.Euid = 1000
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"game", "gc", "--force"}, fail.CodeUsage, "flag provided but not defined: -force; see left4me game gc --help"},
		{[]string{"game", "status", "extra"}, fail.CodeUsage, "takes no arguments"},
		{[]string{"game", "update"}, fail.CodePermission, "left4me game update needs root"},
		{[]string{"game", "gc"}, fail.CodePermission, "left4me game gc needs root"},
		{[]string{"restart", "--all", "a"}, fail.CodeUsage, "--all takes no instance names"},
	}
	for _, c := range cases {
		err := te.run(c.args...)
		if fail.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: code %d %v", c.args, fail.Code(err), err)
		}
	}
}

// Each subcommand's help lists its own options.
func TestGameHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"game", "--help"}, []string{"left4me game install"}},
		{[]string{"game", "update", "--help"}, []string{"--steamcmd PATH", "--login USER", "--password-stdin", "--force"}},
		{[]string{"game", "status", "--help"}, []string{"--offline", "--json"}},
		{[]string{"game", "gc", "--help"}, []string{"--dry-run"}},
		{[]string{"overlay", "build", "--help"}, []string{"--no-restart", "--when-empty", "--deadline"}},
		{[]string{"overlay", "gc", "--help"}, []string{"--dry-run"}},
	} {
		te := newEnv(t)
		if err := te.run(c.args...); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(te.out.String(), w) {
				t.Errorf("%v lacks %q:\n%s", c.args, w, te.out)
			}
		}
	}
}

// gameState turns newEnv's plain installation into a version.
func gameState(t *testing.T, te *tenv) (id string) {
	t.Helper()
	id = "100-20251101T000000Z"
	root := te.Layout.Root
	mkdirs(t, filepath.Join(root, "installations"))
	if err := os.Rename(filepath.Join(root, "installation"), filepath.Join(root, "installations", id)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("installations/"+id, filepath.Join(root, "installation")); err != nil {
		t.Fatal(err)
	}
	mkdirs(t, filepath.Join(root, "installations", id, "steamapps"))
	writeFile(t, filepath.Join(root, "installations", id, "steamapps/appmanifest_222860.acf"), "\"AppState\" { \"appid\" \"222860\" \"buildid\" \"100\" \"StateFlags\" \"4\" }\n")
	return id
}

func TestGameStatusOffline(t *testing.T) {
	te := newEnv(t)
	id := gameState(t, te)
	old := "90-20251001T000000Z"
	mkdirs(t, filepath.Join(te.Layout.Root, "installations", old))
	if err := te.run("game", "status", "--offline"); err != nil {
		t.Fatal(err)
	}
	out := te.out.String()
	for _, w := range []string{"/installation -> installations/" + id, "VERSION", id + "  100    2025-11-01 00:00 UTC  yes      -",
		old + "   ?      2025-10-01 00:00 UTC  no       -", "latest build:      not asked (--offline)", "32-bit libraries:"} {
		if !strings.Contains(out, w) {
			t.Errorf("status lacks %q:\n%s", w, out)
		}
	}
	if err := te.run("game", "status", "--offline", "--json"); err != nil {
		t.Fatal(err)
	}
	var js game.GameStatusJSON
	if err := json.Unmarshal(te.out.Bytes(), &js); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	if js.Installation != "installations/"+id || len(js.Versions) != 2 || !js.Versions[1].Current || js.Versions[1].Build != "100" || js.Versions[0].Problem == "" {
		t.Errorf("%+v", js)
	}
}

// A member of left4me-admin (not root) runs game status: which version a
// running server uses is in runtime/NAME, root's and 0700. Status says
// that is a matter of permission and how to see it, not that the
// server's version is missing.
func TestGameStatusNotRootSaysPermission(t *testing.T) {
	testroot.Require(t, "mounts a server's runtime and reads as another user")
	te := newEnv(t)
	id := gameState(t, te)
	merged := te.Layout.MergedDir("srv1")
	mkdirs(t, merged)
	if err := unix.Mount("tmpfs", merged, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
	writeFile(t, rundir.Of(te.Layout, "srv1").Part(layout.Record), "installations/"+id)
	// As the start helper leaves it; the test's own directories open to
	// all, as /var/lib/left4me is.
	if err := os.Chmod(te.Layout.RuntimeDir("srv1"), 0o700); err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(te.Layout.Root) // t.TempDir(): TMPDIR/TestName/001
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const sudo = "srv1 (not root: permission denied reading %R/runtime/NAME, which is root's; run as root to see it: sudo left4me game status)"
	for _, tc := range []struct {
		name string
		uid  int
		want string
	}{
		{"root", 0, id + "  100    2025-11-01 00:00 UTC  yes      srv1"},
		{"a member of left4me-admin", 1000, "version unknown:   " + strings.ReplaceAll(sudo, "%R", te.Layout.Root)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te.Euid = tc.uid
			var err, jerr error
			var js game.GameStatusJSON
			asUser(t, tc.uid, func() {
				if err = te.run("game", "status", "--offline"); err != nil {
					return
				}
				out := te.out.String()
				if jerr = te.run("game", "status", "--offline", "--json"); jerr == nil {
					jerr = json.Unmarshal(te.out.Bytes(), &js)
				}
				te.out.Reset()
				te.out.WriteString(out)
			})
			if err != nil || jerr != nil {
				t.Fatalf("%v, --json %v\n%s%s", err, jerr, te.out, te.err)
			}
			if out := te.out.String(); !strings.Contains(out, tc.want) || strings.Contains(out, "no record from the start helper") {
				t.Errorf("status lacks %q:\n%s", tc.want, out)
			}
			denied := len(js.Unknown) == 1 && js.Unknown[0].Denied && strings.HasPrefix(js.Unknown[0].Why, "permission denied reading "+te.Layout.RuntimeDir("srv1"))
			if denied != (tc.uid != 0) || (tc.uid == 0 && len(js.Unknown) != 0) {
				t.Errorf("--json unknown_instances %+v", js.Unknown)
			}
			// gc --dry-run alike: the way out is root, not a restart.
			var gerr error
			asUser(t, tc.uid, func() { gerr = te.run("game", "gc", "--dry-run") })
			if tc.uid == 0 && gerr != nil {
				t.Errorf("gc --dry-run as root: %v", gerr)
			}
			if tc.uid != 0 && (!errors.Is(gerr, fail.ErrPermission) || !strings.Contains(gerr.Error(), "left4me game gc needs root") || !strings.Contains(gerr.Error(), "run it with sudo") || strings.Contains(gerr.Error(), "restart")) {
				t.Errorf("gc --dry-run not as root: %v", gerr)
			}
		})
	}
}

// asUser runs fn with the files seen as uid sees them: setfsuid on a
// thread of its own, which ends with it (a test run as root reads
// whatever the modes say otherwise).
func asUser(t *testing.T, uid int, fn func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes, and its fsuid with it
		unix.Setfsuid(uid)
		if prev, _ := unix.SetfsuidRetUid(uid); prev != uid {
			done <- fmt.Errorf("setfsuid(%d): still %d", uid, prev)
			return
		}
		fn()
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Skip(err)
	}
}

// standin builds tests/steamcmd into dir/steamcmd.
func standin(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "steamcmd")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/left4me/left4me/tests/steamcmd")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in steamcmd: %v\n%s", err, out)
	}
	return bin
}

func TestGameUpdateThroughTheCLI(t *testing.T) {
	testroot.Require(t, "mounts an overlay")
	te := newEnv(t)
	te.Euid = 0
	id := gameState(t, te)
	dir := t.TempDir()
	bin := standin(t, filepath.Join(dir))
	depot := filepath.Join(dir, "depot")
	mkdirs(t, filepath.Join(depot, "files", "left4dead2"))
	writeFile(t, filepath.Join(depot, "build"), "200")
	writeFile(t, filepath.Join(depot, "files", "left4dead2", "who.txt"), "v2")
	if err := os.WriteFile(filepath.Join(depot, "files", "srcds_run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(depot, "account"), "bob s3cret")
	creds := t.TempDir()
	writeFile(t, filepath.Join(creds, game.CredentialName), "s3cret\n")
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if err := te.run("game", "update", "--steamcmd", bin, "--login", "bob"); err != nil {
		t.Fatalf("%v\n%s%s", err, te.out, te.err)
	}
	out := te.out.String()
	for _, w := range []string{"updating app 222860 into a new version over " + id + ", which stays untouched (account bob)",
		"steamcmd: Logging in user 'bob' to Steam Public...", "steamcmd: Success! App '222860' fully installed.",
		"updated to build 200: installation -> installations/200-20251126T120000Z"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out+te.err.String(), "s3cret") {
		t.Error("the password was printed")
	}
	log, _ := os.ReadFile(filepath.Join(depot, "log"))
	if !strings.Contains(string(log), "login bob password=ok") {
		t.Errorf("stand-in log:\n%s", log)
	}
	// Up to date now; the password this time from stdin.
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	te.Stdin = strings.NewReader("s3cret\n")
	if err := te.run("game", "update", "--steamcmd", bin, "--login", "bob", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.out.String(), "up to date: build 200 (200-20251126T120000Z)") {
		t.Errorf("%s", te.out)
	}
	if err := te.run("game", "gc"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.out.String(), "removed "+id+" (build 100)") || !strings.Contains(te.out.String(), "kept 200-20251126T120000Z (build 200): current") {
		t.Errorf("gc:\n%s", te.out)
	}
}

// restartSD is fakeSD whose restarts of some units fail.
type restartSD struct {
	*fakeSD
	failing map[string]bool
}

func (r restartSD) Restart(ctx context.Context, unit string) error {
	if r.failing[unit] {
		r.calls = append(r.calls, "restart "+unit)
		r.set(unit, "failed", "failed")
		return &control.JobError{Op: "restart", Unit: unit, Result: "failed"}
	}
	return r.fakeSD.Restart(ctx, unit)
}

func TestRestartAll(t *testing.T) {
	te := newEnv(t)
	for i, n := range []string{"a", "b", "c", "d"} {
		te.spec(t, n, "port: 2700"+string(rune('1'+i))+"\n")
	}
	te.sd.set("l4d2@a.service", "active", "running")
	te.sd.set("l4d2@c.service", "active", "running")
	te.sd.set("l4d2@d.service", "active", "running")
	if err := te.run("restart", "--all"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "units,restart l4d2@a.service,restart l4d2@c.service,restart l4d2@d.service" {
		t.Errorf("calls %s", got)
	}
	if !strings.Contains(te.out.String(), "restarting 3 running instance(s), one after the other: a, c, d") {
		t.Errorf("%s", te.out)
	}

	// The first failure ends the rollout; d keeps running untouched.
	te.sd.calls = nil
	rs := restartSD{te.sd, map[string]bool{"l4d2@c.service": true}}
	te.Connect = func(context.Context) (clienv.Systemd, error) { return rs, nil }
	err := te.run("restart", "--all")
	if fail.Code(err) != fail.CodeFailure || !strings.Contains(err.Error(), "c: restart failed; the rolling restart stopped there, not restarted: d") {
		t.Fatalf("%v", err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "units,restart l4d2@a.service,restart l4d2@c.service" {
		t.Errorf("calls %s", got)
	}
}

// A rolling restart of several servers leaves out, running and untouched,
// each one a start would refuse (an invalid spec): the others are
// restarted as before, and the command fails at the end naming the ones
// left out with their spec's FILE:LINE:COL. A server that fails to come
// back still ends the rollout.
func TestRestartAllLeavesOutRefused(t *testing.T) {
	for _, c := range []struct {
		name    string
		invalid []string
		failing string   // its restart fails
		args    []string // after restart --all
		calls   string   // restarts asked of systemd
		said    []string // in the error
	}{
		{"one invalid among four", []string{"c"}, "", nil,
			"restart l4d2@a.service,restart l4d2@b.service,restart l4d2@d.service",
			[]string{"not restarted, a start would be refused (each keeps running as it is): c"}},
		{"one invalid, when empty now", []string{"c"}, "", []string{"--when-empty", "--deadline", "0"},
			"restart l4d2@a.service,restart l4d2@b.service,restart l4d2@d.service",
			[]string{"not restarted, a start would be refused (each keeps running as it is): c"}},
		{"all invalid", []string{"a", "b", "c", "d"}, "", nil, "",
			[]string{"not restarted, a start would be refused (each keeps running as it is): a, b, c, d"}},
		{"one invalid, and a failed restart still ends it", []string{"b"}, "c", nil,
			"restart l4d2@a.service,restart l4d2@c.service",
			[]string{"c: restart failed; the rolling restart stopped there, not restarted: d",
				"not restarted, a start would be refused (each keeps running as it is): b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			for i, n := range []string{"a", "b", "c", "d"} {
				te.spec(t, n, "port: 2700"+string(rune('1'+i))+"\n")
				te.sd.set(clienv.UnitOf(n), "active", "running")
			}
			// Broken while they run, as an operator's typo.
			for _, n := range c.invalid {
				writeFile(t, te.Layout.SpecPath(n), "port: 27099\nfoo: 1\n")
			}
			rs := restartSD{te.sd, map[string]bool{clienv.UnitOf(c.failing): true}}
			te.Connect = func(context.Context) (clienv.Systemd, error) { return rs, nil }
			err := te.run(append([]string{"restart", "--all"}, c.args...)...)
			if fail.Code(err) != fail.CodeFailure {
				t.Fatalf("exit code %d: %v", fail.Code(err), err)
			}
			if got := restartCalls(te.sd); got != c.calls {
				t.Errorf("calls %s, want %s", got, c.calls)
			}
			for _, w := range c.said {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, n := range c.invalid {
				// Named with its error, where in the file it is.
				if w := n + ": invalid spec: " + te.Layout.SpecPath(n); !strings.Contains(err.Error(), w) || !strings.Contains(err.Error(), te.Layout.SpecPath(n)+":2:1") {
					t.Errorf("error does not name %s's spec at 2:1:\n%v", n, err)
				}
				if u := te.sd.units[clienv.UnitOf(n)]; u.ActiveState != "active" || u.MainPID == 0 {
					t.Errorf("%s touched: %+v", n, u)
				}
			}
			if len(c.invalid) < 4 && !strings.Contains(te.out.String(), "left out, a start would be refused (each keeps running as it is; why: at the end): "+strings.Join(c.invalid, ", ")) {
				t.Errorf("stdout does not say who was left out:\n%s", te.out)
			}
		})
	}
}

// A game update's policy restarts the servers on the old build as
// restart --all does: one whose spec is invalid stays on the old build,
// running and untouched; the others move; the update fails only at the
// end, and its alert names the one left out and why.
func TestUpdatePolicyLeavesOutRefused(t *testing.T) {
	testroot.Require(t, "mounts an overlay, and the servers' overlays")
	// No comma in a subtest's name: its temporary directory goes into the
	// overlay's mount options.
	for _, c := range []struct {
		name    string
		policy  []string
		invalid []string
		failing string // its restart fails
		calls   string
		summary string
	}{
		{"now with one invalid", []string{"--restart", "now"}, []string{"srv3"}, "",
			"restart l4d2@s0.service,restart l4d2@srv1.service,restart l4d2@srv2.service",
			"update policy now: not moved onto build 200, a start would be refused (each keeps running on its version): srv3"},
		{"when empty with one invalid", []string{"--restart", "when-empty", "--restart-deadline", "3s"}, []string{"srv3"}, "",
			"restart l4d2@s0.service,restart l4d2@srv1.service,restart l4d2@srv2.service",
			"update policy when-empty: not moved onto build 200, a start would be refused (each keeps running on its version): srv3"},
		{"now with all invalid", []string{"--restart", "now"}, []string{"s0", "srv1", "srv2", "srv3"}, "", "",
			"update policy now: not moved onto build 200, a start would be refused (each keeps running on its version): s0, srv1, srv2, srv3"},
		// The first server that does not come back still ends it.
		{"now with one invalid and one failing", []string{"--restart", "now"}, []string{"srv3"}, "srv1",
			"restart l4d2@s0.service,restart l4d2@srv1.service",
			"update policy now: moving servers onto build 200 failed; and not moved, a start would be refused (each keeps running on its version): srv3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			id := gameState(t, te)
			last := withAlerts(t, te)
			names := []string{"s0", "srv1", "srv2", "srv3"}
			for i, n := range names {
				te.spec(t, n, "port: 2700"+string(rune('1'+i))+"\n")
				te.sd.set(clienv.UnitOf(n), "active", "running")
				// Running on the old build, as the start helper records it.
				merged := te.Layout.MergedDir(n)
				mkdirs(t, merged)
				if err := unix.Mount("tmpfs", merged, "tmpfs", 0, "size=1m"); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
				writeFile(t, rundir.Of(te.Layout, n).Part(layout.Record), "installations/"+id)
			}
			for _, n := range c.invalid {
				writeFile(t, te.Layout.SpecPath(n), "port: 27099\nfoo: 1\n")
			}
			rs := restartSD{te.sd, map[string]bool{clienv.UnitOf(c.failing): true}}
			te.Connect = func(context.Context) (clienv.Systemd, error) { return rs, nil }
			bin := steamcmdOfBuild200(t)
			err := te.run(append([]string{"game", "update", "--steamcmd", bin}, c.policy...)...)
			if fail.Code(err) != fail.CodeFailure || !strings.Contains(errText(err), "not restarted, a start would be refused (each keeps running as it is): "+strings.Join(c.invalid, ", ")) {
				t.Fatalf("exit code %d: %v\n%s", fail.Code(err), err, te.out)
			}
			if got := restartCalls(te.sd); got != c.calls {
				t.Errorf("calls %s, want %s", got, c.calls)
			}
			if c.failing != "" && !strings.Contains(err.Error(), c.failing+": restart failed; the rolling restart stopped there, not restarted: srv2") {
				t.Errorf("the failed restart did not end it: %v", err)
			}
			for _, n := range c.invalid {
				if u := te.sd.units[clienv.UnitOf(n)]; u.ActiveState != "active" || u.MainPID == 0 {
					t.Errorf("%s touched: %+v", n, u)
				}
			}
			ev := last()
			if ev.Kind != alert.UpdateFailed || ev.Summary != c.summary {
				t.Errorf("sent %+v", ev)
			}
			for _, n := range c.invalid {
				if !strings.Contains(ev.Detail, n+": invalid spec: ") || !strings.Contains(ev.Detail, te.Layout.SpecPath(n)+":2:1: foo: unknown key") {
					t.Errorf("the alert does not say why %s was left out: %q", n, ev.Detail)
				}
			}
		})
	}
}

// restart NAME of one server whose spec is invalid is refused as before:
// nothing is asked of systemd, and the exit code is the invalid spec's.
func TestRestartOneInvalidRefused(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.sd.set(clienv.UnitOf("a"), "active", "running")
	writeFile(t, te.Layout.SpecPath("a"), "port: 27001\nfoo: 1\n")
	err := te.run("restart", "a")
	if !errors.Is(err, layout.ErrInvalidSpec) || fail.Code(err) != fail.CodeFailure || !strings.Contains(err.Error(), te.Layout.SpecPath("a")+":2:1") {
		t.Fatalf("exit code %d: %v", fail.Code(err), err)
	}
	if len(te.sd.calls) != 0 {
		t.Errorf("calls %v", te.sd.calls)
	}
}

func TestRestartAllWhenEmpty(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "busy", "port: 27001\n")
	te.spec(t, "idle", "port: 27002\n")
	te.spec(t, "down", "port: 27003\n")
	te.sd.set("l4d2@busy.service", "active", "running")
	te.sd.set("l4d2@idle.service", "active", "running")
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	te.Players = func(_ context.Context, addr string) (int, int, error) {
		if addr == "127.0.0.1:27001" {
			return 3, 0, nil
		}
		return 0, 0, nil
	}
	err := te.run("restart", "--all", "--when-empty", "--deadline", "100ms")
	if !strings.Contains(errText(err), "still occupied (or not answering) after 100ms, left running: busy") {
		t.Fatalf("%v", err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "units,restart l4d2@idle.service" {
		t.Errorf("calls %s", got)
	}
	if err := te.run("stop", "--all"); err != nil {
		t.Fatal(err)
	}
	if err := te.run("stop", "--all"); err != nil || !strings.Contains(te.out.String(), "no running instances: nothing to stop") {
		t.Errorf("%v %s", err, te.out)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// stop --all takes failed units too: a retry pending on one would start it
// again after an operator stopped "everything" for maintenance.
func TestStopAllTakesFailedOnes(t *testing.T) {
	te := newEnv(t)
	for i, n := range []string{"a", "b", "c"} {
		te.spec(t, n, "port: 2700"+string(rune('1'+i))+"\n")
	}
	te.sd.set("l4d2@a.service", "active", "running")
	te.sd.set("l4d2@b.service", "failed", "failed")
	if err := te.run("stop", "--all"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.sd.calls, ","); !strings.Contains(got, "stop l4d2@a.service") || !strings.Contains(got, "stop l4d2@b.service") || strings.Contains(got, "l4d2@c.service") {
		t.Errorf("calls %s", got)
	}
	if !strings.Contains(te.out.String(), "stopping 2 running or failed instance(s), one after the other: a, b") {
		t.Errorf("%s", te.out)
	}
}

// game status asks Steam (a steamcmd run) at most once per
// --latest-max-age, failures included, never while an update or gc holds
// the store or another ask is under way: the web panel's game page,
// refreshed every 3 s, must not start a steamcmd each time.
func TestGameStatusAsksSteamRarely(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	gameState(t, te)
	dir := t.TempDir()
	bin := standin(t, dir)
	depot := filepath.Join(dir, "depot")
	mkdirs(t, depot)
	writeFile(t, filepath.Join(depot, "build"), "200")
	now := time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC)
	te.Now = func() time.Time { return now }
	asks := func() int {
		log, _ := os.ReadFile(filepath.Join(depot, "log"))
		return strings.Count(string(log), "app_info_print 222860")
	}
	status := func(args ...string) string {
		t.Helper()
		_ = te.run(append([]string{"game", "status", "--steamcmd", bin}, args...)...)
		return te.out.String()
	}
	type step struct {
		what  string
		do    func()
		args  []string
		asked int    // steamcmd runs it made
		want  string // in the output
	}
	var release func()
	var err error
	steps := []step{
		{what: "first ask", args: []string{"--latest-max-age", "10m"}, asked: 1, want: "latest build:      200: update available"},
		{what: "within the max age: the kept answer", do: func() { writeFile(t, filepath.Join(depot, "build"), "300"); now = now.Add(5 * time.Minute) },
			args: []string{"--latest-max-age", "10m"}, asked: 0, want: "200 (as of "},
		{what: "past it: asked", do: func() { now = now.Add(6 * time.Minute) }, args: []string{"--latest-max-age", "10m"}, asked: 1, want: "300: update available"},
		{what: "no max age: asked now", asked: 1, want: "300: update available"},
		{what: "an update holds the store: the last answer, said so", do: func() {
			var err error
			if release, err = (versions.Store{Root: te.Layout.Root}).Lock(); err != nil {
				t.Fatal(err)
			}
		}, asked: 0, want: "an update or gc runs: not asked now"},
		{what: "another ask under way: the last answer", do: func() {
			release()
			if release, err = layout.TryLock(te.Layout.SteamHome()); err != nil {
				t.Fatal(err)
			}
		}, asked: 0, want: "another ask of Steam is under way"},
		{what: "a failure is kept as long", do: func() {
			release()
			writeFile(t, filepath.Join(depot, "build"), "not-a-build")
			now = now.Add(time.Minute)
		}, asked: 1, want: "unknown: app_info_print: no build id"},
		{what: "and not asked again within the max age", do: func() { writeFile(t, filepath.Join(depot, "build"), "300") },
			args: []string{"--latest-max-age", "10m"}, asked: 0, want: "unknown: as of "},
		{what: "an answer ends it", args: []string{"--latest-max-age", "1s"}, do: func() { now = now.Add(time.Minute) }, asked: 1, want: "300: update available"},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		before := asks()
		out := status(s.args...)
		if got := asks() - before; got != s.asked {
			t.Errorf("%s: %d steamcmd asks, want %d\n%s", s.what, got, s.asked, out)
		}
		if !strings.Contains(out, s.want) {
			t.Errorf("%s: output lacks %q:\n%s", s.what, s.want, out)
		}
	}
}

// restartCalls are the restarts and stops the fake systemd was asked for.
func restartCalls(sd *fakeSD) string {
	var restarts []string
	for _, call := range sd.calls {
		if strings.HasPrefix(call, "restart ") || strings.HasPrefix(call, "stop ") {
			restarts = append(restarts, call)
		}
	}
	return strings.Join(restarts, ",")
}

// An invalid restart policy in update.env (left4me-update.service's run,
// which nobody watches) no longer stops the update without a word: the
// update runs, restarting no server, the operator is alerted and the run
// fails at its end. The same typed on the command line is refused before
// anything (operator review: a typo stopped every nightly update).
func TestUpdatePolicyFromUpdateEnv(t *testing.T) {
	testroot.Require(t, "mounts an overlay")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"restart typo", map[string]string{"LEFT4ME_UPDATE_RESTART": "whenempty"}, nil, `--restart (LEFT4ME_UPDATE_RESTART) "whenempty": want never, when-empty or now`},
		{"deadline in days", map[string]string{"LEFT4ME_UPDATE_RESTART": "when-empty", "LEFT4ME_UPDATE_DEADLINE": "2d"}, nil, `--restart-deadline (LEFT4ME_UPDATE_DEADLINE) "2d": want a duration such as 2h or 90m`},
		{"typed", nil, []string{"--restart", "whenempty"}, `--restart (LEFT4ME_UPDATE_RESTART) "whenempty": want never, when-empty or now`},
		{"typed deadline", nil, []string{"--restart", "when-empty", "--restart-deadline", "2d"}, `"2d": want a duration`},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			te := newEnv(t)
			te.Euid = 0
			gameState(t, te)
			events := everyAlertTo(t, te)
			bin := steamcmdOfBuild200(t)
			err := te.run(append([]string{"game", "update", "--steamcmd", bin}, c.args...)...)
			if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			got, _ := os.ReadFile(events)
			updated := strings.Contains(te.out.String(), "updated to build 200")
			if c.env == nil {
				if updated || len(got) != 0 {
					t.Errorf("a refused command line downloaded (%v) or alerted: %s", updated, got)
				}
				return
			}
			if !updated || !strings.Contains(string(got), `"event":"new-build"`) {
				t.Errorf("the update did not run:\n%s\nevents: %s", te.out, got)
			}
			if !strings.Contains(string(got), `"event":"update-failed"`) || !strings.Contains(string(got), "the restart policy in "+filepath.Join(te.Layout.ConfigDir, "update.env")+" is invalid, so no server is restarted onto a new build") {
				t.Errorf("not alerted: %s", got)
			}
			if !strings.Contains(te.err.String(), "the update runs all the same, restarting no server") {
				t.Errorf("stderr: %s", te.err)
			}
		})
	}
}

// steamcmdOfBuild200 is a stand-in steamcmd whose depot holds build 200.
func steamcmdOfBuild200(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := standin(t, dir)
	depot := filepath.Join(dir, "depot")
	mkdirs(t, filepath.Join(depot, "files", "left4dead2"))
	writeFile(t, filepath.Join(depot, "build"), "200")
	if err := os.WriteFile(filepath.Join(depot, "files", "srcds_run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}
