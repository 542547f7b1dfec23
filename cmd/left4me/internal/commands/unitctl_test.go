package commands

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/tests/testroot"
)

func TestStartStopRestart(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "b", "port: 27002\n")
	if err := te.run("start", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if got := te.out.String(); got != "a: started (l4d2@a.service, active/running)\nb: started (l4d2@b.service, active/running)\n" {
		t.Errorf("stdout %q", got)
	}
	if err := te.run("restart", "a"); err != nil {
		t.Fatal(err)
	}
	if err := te.run("stop", "a", "b"); err != nil {
		t.Fatal(err)
	}
	want := "start l4d2@a.service,start l4d2@b.service,restart l4d2@a.service,stop l4d2@a.service,stop l4d2@b.service"
	if got := strings.Join(te.sd.calls, ","); got != want {
		t.Errorf("calls %s", got)
	}
}

func TestStartFailureExplains(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "b", "port: 27002\n")
	te.sd.failStart["l4d2@a.service"] = "failed"
	err := te.run("start", "a", "b")
	if fail.Code(err) != fail.CodeFailure || !strings.Contains(err.Error(), "start failed for 1 of 2") {
		t.Fatalf("%v", err)
	}
	msg := te.err.String()
	for _, w := range []string{"start a failed: start l4d2@a.service: job failed; unit is failed (failed), result exit-code",
		"last log lines of l4d2@a.service:\n  server said goodbye"} {
		if !strings.Contains(msg, w) {
			t.Errorf("stderr lacks %q:\n%s", w, msg)
		}
	}
	if !strings.Contains(te.out.String(), "b: started") {
		t.Errorf("b was not started after a failed: %q", te.out)
	}
}

func TestStartReloadsStaleSpec(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	u := te.sd.get("l4d2@a.service")
	u.NeedReload = true
	te.sd.units[u.Name] = u
	if err := te.run("start", "a"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "reload,start l4d2@a.service" {
		t.Errorf("calls %s", got)
	}
}

func TestUnitOpErrors(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "bad", "port: x\n")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"start"}, fail.CodeUsage, "start needs at least one instance name"},
		{[]string{"start", "a", "nope"}, fail.CodeUnknownInstance, `unknown instance "nope"`},
		{[]string{"start", "bad"}, fail.CodeFailure, "bad.yaml:1:7: port"},
		{[]string{"restart", "../a"}, fail.CodeUsage, "invalid instance name"},
	}
	for _, c := range cases {
		err := te.run(c.args...)
		if fail.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: code %d %v", c.args, fail.Code(err), err)
		}
	}
	if len(te.sd.calls) != 0 {
		t.Errorf("acted despite errors: %v", te.sd.calls)
	}
	// An invalid spec must not keep a server running.
	if err := te.run("stop", "bad"); err != nil {
		t.Errorf("stop bad: %v", err)
	}
	te.noSystemd()
	if err := te.run("start", "a"); fail.Code(err) != fail.CodeNoSystemd {
		t.Errorf("no systemd: %v", err)
	}
}

// A restart that a start would refuse (a missing overlay, an unreadable
// overlay cfg) is refused before anything is stopped: the server keeps
// running, and the message says why and what to do.
func TestRestartPreflight(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	te.spec(t, "a", "port: 27001\noverlays: [gone]\n")
	te.spec(t, "b", "port: 27002\noverlays: [{path: locked, alias: l}]\n")
	te.overlay(t, "locked", "sv_secret 1\n")
	cfg := filepath.Join(te.Layout.Root, "overlays/locked/left4dead2/cfg/server.cfg")
	os.Chmod(cfg, 0o600)
	os.Chown(cfg, 0, 0)
	te.ServerUser = func() (int, int, error) { return 65534, 65534, nil }
	te.sd.set(clienv.UnitOf("a"), "active", "running")
	te.sd.set(clienv.UnitOf("b"), "active", "running")
	for name, want := range map[string]string{"a": "gone: does not exist", "b": "chmod 644 " + cfg} {
		err := te.run("restart", name)
		// No "job failed:" before it: no job ran.
		if err == nil || !strings.HasPrefix(err.Error(), "a start of "+name+" would fail, so nothing was done") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := te.run("restart", "--all"); err == nil {
		t.Error("restart --all went ahead")
	}
	for _, c := range te.sd.calls {
		if strings.HasPrefix(c, "restart") || strings.HasPrefix(c, "stop") {
			t.Errorf("systemd was asked to %s", c)
		}
	}
}

// A start refused for a port another spec holds reads as the generator's
// and validate's refusal, before systemd is asked (no "job canceled").
func TestStartRefusesAClaimedPort(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.spec(t, "b", "port: 27015\n")
	err := te.run("start", "b")
	if err == nil || !strings.Contains(err.Error(), `b.yaml:1:7: port: 27015 is already used by instance "a" (its game port), whose spec is older; pick another port`) {
		t.Fatalf("start b: %v", err)
	}
	for _, c := range te.sd.calls {
		if strings.HasPrefix(c, "start") {
			t.Errorf("systemd was asked to start it: %v", te.sd.calls)
		}
	}
	_ = te.run("validate", "b")
	if !strings.Contains(te.out.String()+te.err.String(), `b.yaml:1:7: port: 27015 is already used by instance "a"`) {
		t.Errorf("validate says otherwise:\n%s%s", te.out, te.err)
	}
}

// A start the start helper refused reads as its reason, not as "job
// canceled; unit is deactivating".
func TestStartRefusedByTheHelper(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.sd.failStart["l4d2@a.service"] = "canceled"
	te.prestartSaid = "/etc/left4me/instances/a.yaml:1:7: port: 27015 is already used by instance \"z\", whose spec is older; pick another port\n"
	err := te.run("start", "a")
	want := "start a was refused by its start helper:\n/etc/left4me/instances/a.yaml:1:7: port: 27015 is already used by instance \"z\""
	if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(te.err.String(), want) || strings.Contains(te.err.String(), "canceled") {
		t.Fatalf("got %v\n%s\nwant %q", err, te.err, want)
	}
}

// A start that failed for a disk full for users is no refusal: the
// answer says systemd tries again.
func TestStartFailedOnADiskFullForUsers(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.sd.failStart["l4d2@a.service"] = "failed"
	te.prestartSaid = "mount overlay on /var/lib/left4me/runtime/a/merged: overlayfs mounted it read-only: the filesystem is full for users (0 B left, only the blocks it keeps for root), so it could not make its work directory; free space: systemd tries the start again\n"
	err := te.run("start", "a")
	if !errors.Is(err, fail.ErrJobFailed) || strings.Contains(te.err.String(), "refused") ||
		!strings.Contains(te.err.String(), "start a failed, and systemd tries again until space is freed:\nmount overlay on") {
		t.Fatalf("got %v\n%s", err, te.err)
	}
}

// A server that fails after the start helper got it ready (a busy port,
// a server that never answers) is explained by the unit's own lines, not
// blamed on the helper's successful steps.
func TestStartFailedAfterTheHelper(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.sd.failStart["l4d2@a.service"] = "failed"
	te.prestartSaid = "disk: 8.0 KiB of 20.0 GiB in use\nresolving layers...\ninstance a ready\n"
	err := te.run("start", "a")
	if !errors.Is(err, fail.ErrJobFailed) || strings.Contains(te.err.String(), "refused by its start helper") ||
		!strings.Contains(te.err.String(), "start a failed") || !strings.Contains(te.err.String(), "server said goodbye") {
		t.Fatalf("got %v\n%s", err, te.err)
	}
}

// An operator's start of a server that a crash loop left failed forgets
// the failure first: systemd's start limit would refuse it for a while.
func TestStartAfterACrashLoop(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.sd.set("l4d2@a.service", "failed", "failed")
	if err := te.run("start", "a"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	calls := strings.Join(te.sd.calls, ",")
	if !strings.Contains(calls, "reset-failed l4d2@a.service,start l4d2@a.service") {
		t.Errorf("calls %s", calls)
	}
}

// A refusal after an earlier run got the server ready (Restart= started
// it again, and the helper refused then) is still the answer.
func TestStartRefusedAfterAReadyRun(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.sd.failStart["l4d2@a.service"] = "failed"
	te.prestartSaid = "instance a ready\n/var/lib/left4me/runtime/a: disk full: its upper layer and dumps hold 70 MiB\n"
	err := te.run("start", "a")
	if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(te.err.String(), "refused by its start helper:\n/var/lib/left4me/runtime/a: disk full") ||
		strings.Contains(te.err.String(), "instance a ready") {
		t.Fatalf("got %v\n%s", err, te.err)
	}
}

// A stop of a crash-looping (failed) server leaves it inactive, not failed
// in list and the host "degraded".
func TestStopAFailedUnit(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.sd.set("l4d2@a.service", "failed", "failed")
	if err := te.run("stop", "a"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if u := te.sd.units["l4d2@a.service"]; u.ActiveState != "inactive" || !strings.Contains(te.out.String(), "a: stopped (l4d2@a.service, inactive/dead)") {
		t.Errorf("unit %+v\n%s", u, te.out)
	}
}

// A restart into a port another running server holds, as its command line
// says (a server started before the start helper kept records, after an
// upgrade), is refused before anything is stopped.
func TestRestartIntoARunningServersPort(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27018\n") // edited onto b's port
	te.spec(t, "b", "port: 27018\n")
	te.sd.set("l4d2@a.service", "active", "running")
	te.sd.set("l4d2@b.service", "active", "running")
	u := te.sd.units["l4d2@b.service"]
	u.MainPID = 4343
	te.sd.units["l4d2@b.service"] = u
	te.sd.argv[4343] = []string{"/var/lib/left4me/runtime/b/merged/srcds_linux", "-game", "left4dead2", "-port", "27018", "+clientport", "28018", "+tv_port", "29018", "-steamport", "30017"}
	// a's spec is the older one: by age alone it would win.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(te.Layout.SpecPath("a"), old, old)
	err := te.run("restart", "a")
	if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(err.Error(), "a's game port 27018 is held by the running server b (as it was started)") {
		t.Fatalf("got %v", err)
	}
	if slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, "stop ") || strings.HasPrefix(c, "restart ") }) {
		t.Errorf("calls %v", te.sd.calls)
	}
}

// A stop removes the overlay an earlier stop left mounted on a unit that
// is down (it would hold the instance's ports as a running server's); a
// running unit's is left to its own stop.
func TestStopRemovesAMountLeftBehind(t *testing.T) {
	testroot.Require(t, "mounts a tmpfs as a left-behind overlay")
	for _, state := range []string{"inactive", "active"} {
		te := newEnv(t)
		te.spec(t, "a", "port: 27015\n")
		merged := te.Layout.MergedDir("a")
		if err := os.MkdirAll(merged, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", merged, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
		te.sd.set("l4d2@a.service", state, "dead")
		if state == "active" {
			// A stop that leaves it running: the fake's stop is refused.
			te.sd.failStop = true
		}
		_ = te.run("stop", "a")
		var dir, m unix.Stat_t
		_ = unix.Stat(filepath.Dir(merged), &dir)
		_ = unix.Stat(merged, &m)
		mounted := dir.Dev != m.Dev
		said := strings.Contains(te.out.String(), "a: unmounted "+merged+", which an earlier stop left mounted")
		if want := state == "active"; mounted != want || said == want {
			t.Errorf("%s: mounted %v after the stop\n%s", state, mounted, te.out)
		}
	}
}

// A server over its disk ceiling: its start helper would refuse the
// start, so a start or restart is refused first, and a running one is not
// stopped for it.
func TestStartOverTheDiskCeiling(t *testing.T) {
	te := newEnv(t)
	rt := withRuntime(t, te, "a")
	te.spec(t, "a", "port: 27015\nresources: {disk: 64M}\n")
	f, err := os.Create(filepath.Join(rt, "upper", "big"))
	if err != nil {
		t.Fatal(err)
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, 65<<20) // blocks, not a sparse size
	f.Close()
	if err != nil {
		t.Skipf("fallocate: %v", err)
	}
	te.sd.set("l4d2@a.service", "active", "running")
	for _, op := range []string{"restart", "start"} {
		te.sd.calls = nil
		err := te.run(op, "a")
		if fail.Code(err) != fail.CodeFailure || !strings.Contains(errText(err), "over its disk ceiling") || len(te.sd.calls) != 0 {
			t.Errorf("%s: %v, calls %v", op, err, te.sd.calls)
		}
	}
}

// A person at a terminal is asked before a stop or restart at once kicks
// players, and told who; a script, --when-empty and an empty server are
// not asked.
func TestStopAtOnceAsksWhoPlays(t *testing.T) {
	for _, tt := range []struct {
		name     string
		args     []string
		terminal bool
		players  int
		answer   string
		asked    bool
		acted    bool
	}{
		{"a person declines", []string{"stop", "srv1"}, true, 2, "n\n", true, false},
		{"a person agrees", []string{"stop", "srv1"}, true, 2, "y\n", true, true},
		{"restart --all, declined", []string{"restart", "--all"}, true, 2, "\n", true, false},
		{"nobody plays", []string{"stop", "srv1"}, true, 0, "", false, true},
		{"a script", []string{"stop", "srv1"}, false, 2, "", false, true},
		{"when empty", []string{"stop", "srv1", "--when-empty", "--deadline", "0"}, true, 0, "", false, true},
		{"a start kicks nobody", []string{"start", "srv1"}, true, 2, "", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			te.spec(t, "srv1", "port: 27015\n")
			te.sd.set(clienv.UnitOf("srv1"), "active", "running")
			te.Players = func(context.Context, string) (int, int, error) { return tt.players, 0, nil }
			te.Stdin, te.Terminal = strings.NewReader(tt.answer), tt.terminal
			te.sd.calls = nil
			err := te.run(tt.args...)
			asked := strings.Contains(te.err.String(), "srv1 has 2 player(s) on it now: they would be kicked.\n"+tt.args[0]+" at once anyway?")
			acted := slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, tt.args[0]) })
			if asked != tt.asked || acted != tt.acted || (err == nil) != tt.acted {
				t.Errorf("asked %v, acted %v (%v), err %v; want asked %v, acted %v\n%s", asked, acted, te.sd.calls, err, tt.asked, tt.acted, te.err)
			}
		})
	}
}
