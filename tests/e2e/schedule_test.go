package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Schedules in the spec (issue 27 item 3) on real systemd: the generator's
// timers run while their server does; a scheduled restart waits for the
// server to empty, warns and restarts, and never starts a stopped server;
// a scheduled backup keeps what the spec says; a bad calendar is an error
// at its line and column and its instance gets no units; a game update
// moves servers over by the policy in update.env.
func TestSchedules(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	if err := writeFiles(state, map[string]string{"overlays/busy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=3\n",
		// Hibernates once its last human left, as L4D2 does.
		"overlays/sleepy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=3\nSTANDIN_HIBERNATE=1\n"}); err != nil {
		t.Fatal(err)
	}
	c := bootStoreHost(t, state, map[string]string{
		"etc/left4me/instances/busy.yaml": "port: 27071\noverlays: [busy]\nschedule:\n  restart: \"*-*-* 05:00\"\n" +
			"  restart_deadline: 8s\n  restart_warn_at: [4s]\n  restart_announce: \"Scheduled restart in %s\"\n" +
			"  backup: daily\nbackups: {keep: 2}\n",
		"etc/left4me/instances/late.yaml":   "port: 27074\noverlays: [sleepy]\nschedule: {restart: daily, restart_deadline: 10m, restart_force: false}\n",
		"etc/left4me/instances/idle.yaml":   "port: 27072\nschedule: {restart: \"Mon..Fri 04:30\"}\n",
		"etc/left4me/instances/badcal.yaml": "port: 27073\nschedule:\n  restart: \"*-*-* 25:00\"\n",
		"etc/left4me/instances/broke.yaml":  "port: 27077\nschedule: {restart: daily}\n",
		"etc/left4me/alerts.yaml":           "command: /usr/local/bin/page\n",
		"usr/local/bin/page":                "#!/bin/sh\ncat >>/run/events.jsonl; echo >>/run/events.jsonl\n",
	})
	c.MustRun(t, "chmod", "0755", "/usr/local/bin/page")
	c.MustRun(t, "left4me", "start", "busy", "idle", "late", "broke")

	t.Run("a schedule is an active timer while its server runs", func(t *testing.T) {
		timers := c.MustRun(t, "systemctl", "list-timers", "--all", "--no-legend", "--no-pager", "left4me-*")
		for _, want := range []string{"left4me-restart@busy.timer", "left4me-backup@busy.timer", "left4me-restart@idle.timer"} {
			if !strings.Contains(timers, want) {
				t.Errorf("list-timers lacks %s:\n%s", want, timers)
			}
			if st, _ := c.Run(t, "systemctl", "is-active", want); strings.TrimSpace(st) != "active" {
				t.Errorf("%s is %s", want, st)
			}
		}
		if strings.Contains(timers, "left4me-backup@idle") {
			t.Errorf("a timer idle's spec does not ask for:\n%s", timers)
		}
		if next := c.MustRun(t, "systemctl", "show", "-P", "TimersCalendar", "left4me-restart@idle.timer"); !strings.Contains(next, "OnCalendar=Mon..Fri *-*-* 04:30:00") {
			t.Errorf("restart timer of idle: %s", next)
		}
	})

	t.Run("a bad calendar is FILE:LINE:COL and its instance gets no units", func(t *testing.T) {
		out, err := c.Run(t, "sh", "-c", "left4me validate badcal 2>&1")
		if err == nil || !strings.Contains(out, "/etc/left4me/instances/badcal.yaml:3:12: schedule.restart: \"*-*-* 25:00\" is not a calendar event systemd takes: hour 25: out of range 0..23") {
			t.Errorf("validate: %v\n%s", err, out)
		}
		// /run is the container's own tmpfs: asked inside.
		gen := func(u string) bool { _, err := c.Run(t, "test", "-e", "/run/systemd/generator/"+u); return err == nil }
		if !gen("left4me-restart@busy.timer") {
			t.Fatal("the generator's output is not where this test looks")
		}
		for _, u := range []string{"left4me-restart@badcal.timer", "l4d2@badcal.service.d/50-left4me-spec.conf"} {
			if gen(u) {
				t.Errorf("generated %s for an invalid spec", u)
			}
		}
		// Only the packaged template, which never fires, is there to load.
		if cal := c.MustRun(t, "systemctl", "show", "-P", "TimersCalendar", "left4me-restart@badcal.timer"); strings.TrimSpace(cal) != "" {
			t.Errorf("left4me-restart@badcal.timer has a calendar: %s", cal)
		}
		if st, _ := c.Run(t, "systemctl", "is-active", "left4me-restart@badcal.timer"); strings.TrimSpace(st) == "active" {
			t.Errorf("left4me-restart@badcal.timer is active")
		}
	})

	t.Run("a scheduled backup keeps what the spec says", func(t *testing.T) {
		for range 3 {
			c.MustRun(t, "systemctl", "start", "left4me-backup@busy.service")
		}
		ents, _ := os.ReadDir(filepath.Join(state, "backups", "busy"))
		if len(ents) != 2 {
			t.Errorf("%d backups, want 2 (keep: 2):\n%s", len(ents), c.Journal(t, "left4me-backup@busy.service"))
		}
		if j := c.Journal(t, "left4me-backup@busy.service"); !strings.Contains(j, "busy: removed old backup") {
			t.Errorf("journal:\n%s", j)
		}
	})

	t.Run("a scheduled restart of an empty server is at once", func(t *testing.T) {
		old := mainPID(t, c, "idle")
		c.MustRun(t, "systemctl", "start", "left4me-restart@idle.service")
		if mainPID(t, c, "idle") == old || unitState(t, c, "idle") != "active" {
			t.Errorf("idle not restarted:\n%s", c.Journal(t, "left4me-restart@idle.service"))
		}
	})

	t.Run("a scheduled restart waits while players are on and restarts once they left", func(t *testing.T) {
		old := mainPID(t, c, "late")
		c.MustRun(t, "systemctl", "start", "--no-block", "left4me-restart@late.service")
		c.WaitFor(t, "the restart waiting for late's players", 30*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "left4me-restart@late.service"), "late: 3 player(s) on port 27074; waiting")
		})
		if mainPID(t, c, "late") != old {
			t.Fatal("late restarted with players on it")
		}
		// The players leave (the console's kickall). The server then
		// hibernates and answers no A2S: only its console counts none.
		c.MustRun(t, "left4me", "send", "late", "kickall")
		c.WaitFor(t, "the scheduled restart of late to finish", 60*time.Second, func() bool {
			st, _ := c.Run(t, "systemctl", "show", "-P", "ActiveState", "left4me-restart@late.service")
			return strings.TrimSpace(st) == "inactive"
		})
		j := c.Journal(t, "left4me-restart@late.service")
		if !strings.Contains(j, "late: restarted") || strings.Contains(j, "deadline reached") || strings.Contains(j, "warned") {
			t.Errorf("journal:\n%s", j)
		}
		if j := c.Journal(t, "l4d2@late.service"); !strings.Contains(j, "Server is hibernating") {
			t.Errorf("late did not hibernate once empty:\n%s", j)
		}
		if res := c.MustRun(t, "systemctl", "show", "-P", "Result", "left4me-restart@late.service"); strings.TrimSpace(res) != "success" {
			t.Errorf("result %s", res)
		}
		if mainPID(t, c, "late") == old {
			t.Errorf("late not restarted")
		}
	})

	t.Run("a scheduled restart waits while players are on, warns, then restarts", func(t *testing.T) {
		old := mainPID(t, c, "busy")
		c.MustRun(t, "systemctl", "start", "left4me-restart@busy.service")
		j := c.Journal(t, "left4me-restart@busy.service")
		for _, want := range []string{"busy: 3 player(s) on port 27071; waiting", "busy: players warned: restart in",
			"busy: deadline reached with players on it (or not answering); going ahead with the restart", "busy: restarted"} {
			if !strings.Contains(j, want) {
				t.Errorf("journal lacks %q:\n%s", want, j)
			}
		}
		if !strings.Contains(c.Journal(t, "l4d2@busy.service"), "Console: Scheduled restart in ") {
			t.Errorf("players not warned:\n%s", c.Journal(t, "l4d2@busy.service"))
		}
		if mainPID(t, c, "busy") == old {
			t.Errorf("busy not restarted")
		}
	})

	t.Run("a stopped server's schedule neither runs nor starts it", func(t *testing.T) {
		c.MustRun(t, "left4me", "stop", "idle")
		if st, _ := c.Run(t, "systemctl", "is-active", "left4me-restart@idle.timer"); strings.TrimSpace(st) != "inactive" {
			t.Errorf("timer of a stopped server is %s", st)
		}
		c.MustRun(t, "systemctl", "start", "left4me-restart@idle.service")
		if unitState(t, c, "idle") != "inactive" {
			t.Errorf("a scheduled restart started idle")
		}
		if j := c.Journal(t, "left4me-restart@idle.service"); !strings.Contains(j, "idle: not running; left stopped") {
			t.Errorf("journal:\n%s", j)
		}
		c.MustRun(t, "left4me", "start", "idle")
	})

	t.Run("a scheduled restart that fails alerts, and leaves its server running", func(t *testing.T) {
		old := mainPID(t, c, "broke")
		// Its spec now names an overlay that is not there: a start would
		// fail, so the restart stops nothing.
		if err := os.WriteFile(filepath.Join(c.Root, "etc/left4me/instances/broke.yaml"), []byte("port: 27077\nschedule: {restart: daily}\noverlays: [missing]\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Run(t, "systemctl", "start", "left4me-restart@broke.service"); err == nil {
			t.Error("left4me-restart@broke.service succeeded")
		}
		if mainPID(t, c, "broke") != old || unitState(t, c, "broke") != "active" {
			t.Errorf("broke was restarted or stopped:\n%s", c.Journal(t, "left4me-restart@broke.service"))
		}
		events := c.MustRun(t, "cat", "/run/events.jsonl")
		if !strings.Contains(events, `"event":"restart-failed"`) || !strings.Contains(events, `"summary":"broke: its scheduled restart failed"`) ||
			!strings.Contains(events, `"detail":"see: journalctl -u left4me-restart@broke.service"`) {
			t.Errorf("events:\n%s", events)
		}
		c.MustRun(t, "left4me", "stop", "broke")
		c.MustRun(t, "sh", "-c", "rm /etc/left4me/instances/broke.yaml && systemctl daemon-reload")
	})

	t.Run("a game update moves servers over by update.env, when empty", func(t *testing.T) {
		// An orphan (its spec removed while it runs) stays on its
		// version without failing the policy for the others.
		c.MustRun(t, "left4me", "create", "orph", "--port", "27099")
		c.MustRun(t, "left4me", "start", "orph")
		c.MustRun(t, "sh", "-c", "rm /etc/left4me/instances/orph.yaml && systemctl daemon-reload")
		defer c.Run(t, "left4me", "stop", "orph")
		depot(t, c, "200", "v2", nil)
		if err := writeFiles(c.Root, map[string]string{"etc/left4me/update.env": "LEFT4ME_STEAMCMD=/opt/steamcmd/steamcmd\n" +
			"LEFT4ME_UPDATE_RESTART=when-empty\nLEFT4ME_UPDATE_DEADLINE=3s\n"}); err != nil {
			t.Fatal(err)
		}
		_, err := c.Run(t, "systemctl", "start", "left4me-update.service")
		j := c.Journal(t, "left4me-update.service")
		if err != nil {
			t.Fatalf("update: %v\n%s", err, j)
		}
		for _, want := range []string{"orph has no spec (removed while it runs): left on its version",
			"update policy when-empty: restarting busy, idle, late onto the new version", "idle: restarted",
			"still occupied (or not answering) after 3s, left running: busy, late; they move to the new version at their next restart"} {
			if !strings.Contains(j, want) {
				t.Errorf("journal lacks %q:\n%s", want, j)
			}
		}
		who := func(name string) string {
			return c.MustRun(t, "cat", "/var/lib/left4me/runtime/"+name+"/merged/left4dead2/who.txt")
		}
		if got := who("idle"); got != "v2" {
			t.Errorf("idle sees who.txt = %q after the update", got)
		}
		if got := who("busy"); got != "v1" {
			t.Errorf("busy (occupied) sees who.txt = %q", got)
		}
		// The next run finds no new build, and moves over what emptied
		// since (late's players left).
		c.MustRun(t, "left4me", "send", "late", "kickall")
		if _, err := c.Run(t, "systemctl", "start", "left4me-update.service"); err != nil {
			t.Fatalf("second update: %v\n%s", err, c.Journal(t, "left4me-update.service"))
		}
		if j := c.Journal(t, "left4me-update.service"); !strings.Contains(j, "up to date: build 200") || !strings.Contains(j, "late: restarted") {
			t.Errorf("second run:\n%s", j)
		}
		if got := who("late"); got != "v2" {
			t.Errorf("late sees who.txt = %q after the second run", got)
		}
	})
}

// A schedule removed from the spec of a running server, or its spec made
// invalid: its timers, left running, no longer fail at the next
// daemon-reload ("Unit to trigger vanished", the host "degraded"): the
// packaged templates (units/left4me-{restart,backup}@.timer) take the
// generated files' place, never fire, and stop once nothing wants them.
// (Found by the walkthrough of 2026-12-06.)
func TestScheduleRemoved(t *testing.T) {
	requireE2E(t)
	c := bootStoreHost(t, "", map[string]string{
		"etc/left4me/instances/s3.yaml": "port: 27075\nschedule: {restart: \"*-*-* 05:00\", backup: daily}\n",
		"etc/left4me/instances/s4.yaml": "port: 27076\nschedule: {restart: \"*-*-* 05:00\"}\n",
	})
	c.MustRun(t, "left4me", "start", "s3", "s4")
	timers := []string{"left4me-restart@s3.timer", "left4me-backup@s3.timer", "left4me-restart@s4.timer"}
	for _, tm := range timers {
		if st, _ := c.Run(t, "systemctl", "is-active", tm); strings.TrimSpace(st) != "active" {
			t.Fatalf("%s is %s", tm, st)
		}
	}
	c.MustRun(t, "sh", "-c", "echo 'port: 27075' >/etc/left4me/instances/s3.yaml; echo 'port: 27076\nschedul: {}' >/etc/left4me/instances/s4.yaml")
	c.MustRun(t, "systemctl", "daemon-reload")
	time.Sleep(time.Second)
	for _, tm := range timers {
		if st, _ := c.Run(t, "systemctl", "is-failed", tm); strings.TrimSpace(st) == "failed" {
			t.Errorf("%s failed at the reload:\n%s", tm, c.Journal(t, tm))
		}
		if cal := c.MustRun(t, "systemctl", "show", "-P", "TimersCalendar", tm); strings.TrimSpace(cal) != "" {
			t.Errorf("%s still has a calendar: %s", tm, cal)
		}
	}
	if out, _ := c.Run(t, "systemctl", "list-units", "--state=failed", "--no-legend", "--plain"); strings.TrimSpace(out) != "" {
		t.Errorf("failed units:\n%s", out)
	}
	if st, _ := c.Run(t, "systemctl", "is-system-running"); strings.TrimSpace(st) != "running" {
		t.Errorf("the host is %s", st)
	}
	c.MustRun(t, "left4me", "restart", "s3")
	for _, tm := range timers[:2] {
		if st, _ := c.Run(t, "systemctl", "is-active", tm); strings.TrimSpace(st) == "active" {
			t.Errorf("%s still active after the restart without a schedule", tm)
		}
	}
	// Asked by hand, with no timer left to stop: nothing to do, no error.
	if out, err := c.Run(t, "left4me", "restart", "--scheduled", "s3"); err != nil || !strings.Contains(out, "nothing to do") {
		t.Errorf("restart --scheduled without a schedule: %v\n%s", err, out)
	}
}
