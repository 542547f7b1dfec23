package commands

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/game"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// restart --scheduled is restart --when-empty with the spec's settings,
// and leaves a stopped server stopped.
func TestScheduledRestart(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "busy", "port: 27001\nschedule: {restart: daily, restart_deadline: 30ms, restart_force: false}\n")
	te.spec(t, "idle", "port: 27002\nschedule: {restart: daily}\n")
	te.spec(t, "down", "port: 27003\nschedule: {restart: daily}\n")
	te.sd.set("l4d2@busy.service", "active", "running")
	te.sd.set("l4d2@idle.service", "active", "running")
	te.sd.set("l4d2@down.service", "inactive", "dead")
	twoOn27001(te)
	err := te.run("restart", "--scheduled", "busy")
	if err != nil || !strings.Contains(te.out.String(), "still occupied (or not answering) after 30ms, left running: busy; the next scheduled restart tries again") {
		t.Errorf("busy: %v\n%s", err, te.out)
	}
	if !strings.Contains(te.out.String(), "busy: 2 player(s) on port 27001; waiting") {
		t.Errorf("stdout %q", te.out.String())
	}
	if err := te.run("restart", "--scheduled", "idle"); err != nil {
		t.Errorf("idle: %v", err)
	}
	if err := te.run("restart", "--scheduled", "down"); err != nil {
		t.Errorf("down: %v", err)
	}
	if !strings.Contains(te.out.String(), "down: not running; left stopped") {
		t.Errorf("stdout %q", te.out.String())
	}
	if got := strings.Join(te.sd.calls, ","); got != "restart l4d2@idle.service" {
		t.Errorf("calls %s", got)
	}
	// A schedule removed from the spec: its timer, still running, ends.
	te.spec(t, "idle", "port: 27002\n")
	if err := te.run("restart", "--scheduled", "idle"); err != nil || !strings.Contains(te.out.String(), "idle: its spec has no schedule.restart (any more): nothing to do") {
		t.Errorf("idle without a schedule: %v\n%s", err, te.out)
	}
	if got := strings.Join(te.sd.calls, ","); got != "restart l4d2@idle.service,stop left4me-restart@idle.timer" {
		t.Errorf("calls %s", got)
	}
	// --all is refused like any other setting: it restarted every
	// running server at once, its players kicked (operator review).
	for _, args := range [][]string{
		{"restart", "--scheduled", "--deadline", "1m", "idle"},
		{"restart", "--scheduled", "idle", "busy"},
		{"restart", "--scheduled", "--all"},
		{"restart", "--all", "--scheduled", "--when-empty", "--deadline", "5s"},
	} {
		te.sd.calls = nil
		if err := te.run(args...); !errors.Is(err, fail.ErrUsage) || len(te.sd.calls) != 0 {
			t.Errorf("%v: %v, calls %v", args, err, te.sd.calls)
		}
	}
}

func TestScheduledPlanDefaults(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\nschedule: {restart: daily, restart_warn_at: [2m]}\nbackups: {keep: 3, max_age: 48h}\n")
	s, err := te.Load("a")
	if err != nil {
		t.Fatal(err)
	}
	p := unitctl.ScheduledPlan("a", s.Schedule)
	if !p.WhenEmpty || !p.Force || !p.OnlyRunning || p.Deadline != time.Hour || len(p.WarnAt) != 1 || p.Announce != unitctl.DefaultAnnounce {
		t.Errorf("plan %+v", p)
	}
	if k, a := te.dayops().Retention("a"); k != 3 || a != 48*time.Hour {
		t.Errorf("retention %d %v", k, a)
	}
}

func TestUpdatePolicyFlags(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	err := te.run("game", "update", "--restart", "sometimes")
	if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), `--restart (LEFT4ME_UPDATE_RESTART) "sometimes": want never, when-empty or now`) {
		t.Errorf("got %v", err)
	}
	// A deadline that would do nothing is refused on the command line;
	// update.env may keep one beside never.
	for _, args := range [][]string{{"--restart-deadline", "1h"}, {"--restart", "now", "--restart-deadline", "1h"}} {
		err = te.run(append([]string{"game", "update"}, args...)...)
		if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), "--restart-deadline only means something with --restart when-empty") {
			t.Errorf("%v: got %v", args, err)
		}
	}
	// The unit's TimeoutStartSec holds the wait and the download: a wait
	// it would cut short is refused before anything is downloaded.
	err = te.run("game", "update", "--restart", "when-empty", "--restart-deadline", "25h")
	if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), "--restart-deadline (LEFT4ME_UPDATE_DEADLINE) 25h0m0s: at most 24h0m0s (left4me-update.service gives the update 30h0m0s in all") {
		t.Errorf("a deadline past the unit's timeout: %v", err)
	}
	for _, d := range []string{"2h", "48h"} {
		t.Setenv("LEFT4ME_UPDATE_DEADLINE", d)
		if err = te.run("game", "update"); errors.Is(err, fail.ErrUsage) {
			t.Errorf("update.env's deadline %s beside never: %v", d, err)
		}
	}
}

// The update's unit gives it the longest wait for players and 6 hours of
// download besides: its TimeoutStartSec= is the one policy.go counts on.
func TestUpdateUnitTimeout(t *testing.T) {
	unit := readFile(t, "../../../../units/left4me-update.service")
	if !strings.Contains(unit, "\nTimeoutStartSec=30h\n") {
		t.Errorf("left4me-update.service: want TimeoutStartSec=30h (game.MaxRestartDeadline 24h and 6h of download):\n%s", unit)
	}
	if game.MaxRestartDeadline != 24*time.Hour {
		t.Errorf("MaxRestartDeadline %v: the unit's timeout counts on 24h", game.MaxRestartDeadline)
	}
}

// A scheduled restart that fails alerts: nobody watches a timer's unit.
// One that waited out its deadline with players on (restart_force: false)
// is no failure, and sends nothing.
func TestScheduledRestartAlerts(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	te.spec(t, "busy", "port: 27001\nschedule: {restart: daily, restart_deadline: 30ms, restart_force: false}\n")
	te.spec(t, "broken", "port: 27002\nschedule: {restart: daily}\n")
	te.sd.set("l4d2@busy.service", "active", "running")
	te.sd.set("l4d2@broken.service", "active", "running")
	twoOn27001(te)
	last := withAlerts(t, te)
	if err := te.run("restart", "--scheduled", "busy"); err != nil {
		t.Fatalf("busy: %v", err)
	}
	if strings.Contains(te.err.String(), "restart-failed") {
		t.Fatalf("a restart left running as asked alerted: %s", te.err)
	}
	// Its spec now names an overlay that does not exist: a start would
	// fail, so the restart leaves it running, and fails.
	te.spec(t, "broken", "port: 27002\nschedule: {restart: daily}\noverlays: [missing]\n")
	err := te.run("restart", "--scheduled", "broken")
	if !errors.Is(err, fail.ErrJobFailed) {
		t.Fatalf("broken: %v", err)
	}
	if ev := last(); ev.Kind != alert.RestartFailed || ev.Instance != "broken" || ev.Summary != "broken: its scheduled restart failed" || ev.Detail != "see: journalctl -u left4me-restart@broken.service" {
		t.Errorf("sent %+v", ev)
	}
	if slices.Contains(te.sd.calls, "restart l4d2@broken.service") {
		t.Errorf("restarted a server whose spec would not start: %v", te.sd.calls)
	}
	// A spec that no longer loads at all alerts too.
	te.spec(t, "busy", "port: [27001\n")
	if err := te.run("restart", "--scheduled", "busy"); err == nil {
		t.Fatal("busy with an invalid spec: no error")
	}
	if ev := last(); ev.Kind != alert.RestartFailed || ev.Instance != "busy" {
		t.Errorf("sent %+v", ev)
	}
}

// twoOn27001 has two players on the server of port 27001 and nobody on
// the others, counted every millisecond.
func twoOn27001(te *tenv) {
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	te.Players = func(_ context.Context, addr string) (int, int, error) {
		if addr == "127.0.0.1:27001" {
			return 2, 0, nil
		}
		return 0, 0, nil
	}
}
