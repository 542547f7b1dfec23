package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What a new operator tripped over (issue 25), on a host with a versioned
// game, the stand-in steamcmd and these instances: busy has 3 players.
var operatorSpecs = map[string]string{
	"etc/left4me/instances/busy.yaml":   "port: 27041\noverlays: [busy]\n",
	"etc/left4me/instances/idle.yaml":   "port: 27043\n",
	"etc/left4me/instances/orphan.yaml": "port: 27045\n",
	"etc/left4me/instances/crash.yaml":  "port: 27046\noverlays: [crash]\n",
	"etc/left4me/instances/bots.yaml":   "port: 27047\noverlays: [bots]\n",
	"etc/left4me/instances/lobby.yaml":  "port: 27057\noverlays: [lobby]\n",
	// Retries come 5 s after systemd gives up here, not 1 min.
	"etc/systemd/system/left4me-retry@.service.d/test.conf": "[Service]\nEnvironment=LEFT4ME_RETRY_BASE=5s\n",
}

var operatorState = map[string]string{
	"overlays/busy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=3\n",
	// One human among three bots, A2S_INFO counting humans alone in its
	// players (tests/standin/serve.go, wire): players minus bots is 0.
	"overlays/bots/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=1\nSTANDIN_BOTS=3\nSTANDIN_A2S_PLAYERS=humans\n",
	// A lobby reserved it as it came up; nobody came (a query shows no
	// player, its status "(reserved ID)") until the reservation ran out.
	"overlays/lobby/left4dead2/cfg/standin.env":   "STANDIN_RESERVE=20s\nSTANDIN_HIBERNATE=1\n",
	"overlays/crash/left4dead2/cfg/standin_crash": "",
	"overlays/crash/left4dead2/cfg/standin.env":   "",
}

func TestOperator(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	if err := writeFiles(state, operatorState); err != nil {
		t.Fatal(err)
	}
	c := bootStoreHost(t, state, operatorSpecs)
	specPath := "/etc/left4me/instances/"
	setSpec := func(t *testing.T, name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(c.Root, specPath, name+".yaml"), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("when-empty asks the server where it runs, never takes silence for empty", func(t *testing.T) {
		c.MustRun(t, "left4me", "start", "busy")
		pid := mainPID(t, c, "busy")
		setSpec(t, "busy", "port: 27042\noverlays: [busy]\n") // edited, not applied
		c.MustRun(t, "systemctl", "daemon-reload")
		out, err := c.Run(t, "left4me", "restart", "--when-empty", "--deadline", "4s", "busy")
		if err == nil || !strings.Contains(out, "busy: 3 player(s) on port 27041; waiting") || !strings.Contains(err.Error(), "left running: busy") {
			t.Errorf("restart --when-empty of an occupied server whose spec moved it: %v\n%s", err, out)
		}
		if got := mainPID(t, c, "busy"); got != pid {
			t.Fatalf("busy was restarted (main PID %s, was %s): players kicked", got, pid)
		}
		// Only if empty now; and a flag that would do nothing is refused.
		if out, err := c.Run(t, "left4me", "restart", "--when-empty", "--deadline", "0", "busy"); err == nil || !strings.Contains(err.Error(), "not empty now (--deadline 0), left running: busy") {
			t.Errorf("--deadline 0: %v\n%s", err, out)
		}
		for _, args := range [][]string{{"restart", "--deadline", "5m", "busy"}, {"stop", "--when-empty", "--deadline", "0", "--force", "busy"}} {
			out, err := c.Run(t, append([]string{"left4me"}, args...)...)
			if err == nil || !strings.Contains(err.Error(), "exit status 2") {
				t.Errorf("%q: want a usage error (exit 2): %v\n%s", args, err, out)
			}
		}
		if got := mainPID(t, c, "busy"); got != pid {
			t.Fatalf("busy was restarted by a refused command")
		}
	})

	t.Run("when-empty: a human among bots is a player, whichever way A2S counts", func(t *testing.T) {
		c.MustRun(t, "left4me", "start", "bots")
		pid := mainPID(t, c, "bots")
		out, err := c.Run(t, "left4me", "restart", "--when-empty", "--deadline", "3s", "bots")
		if err == nil || !strings.Contains(out, "bots: 1 player(s) on port 27047; waiting") || !strings.Contains(err.Error(), "left running: bots") {
			t.Errorf("restart --when-empty of a server with one human among bots: %v\n%s", err, out)
		}
		if got := mainPID(t, c, "bots"); got != pid {
			t.Fatalf("bots was restarted (main PID %s, was %s): its player kicked", got, pid)
		}
		c.MustRun(t, "left4me", "stop", "bots")
	})

	t.Run("a start that waits for the instance's lock says who holds it", func(t *testing.T) {
		// runtime/bots exists since its start above. A backup or restore
		// of a large upper layer holds the lock so; flock(1) stands in.
		c.MustRun(t, "systemd-run", "--unit=lockholder", "--collect", "flock", "-n", "/var/lib/left4me/runtime/bots", "sleep", "6")
		c.MustRun(t, "systemctl", "start", "l4d2@bots.service") // waits, then starts
		j := c.Journal(t, "l4d2@bots.service")
		if !regexp.MustCompile(`waiting: pid \d+ \(\S*flock -n /var/lib/left4me/runtime/bots sleep 6\) holds the lock on /var/lib/left4me/runtime/bots`).MatchString(j) {
			t.Errorf("journal of the start:\n%s", tail(j, 30))
		}
		if st := unitState(t, c, "bots"); st != "active" {
			t.Errorf("bots is %s after the lock was free", st)
		}
		c.MustRun(t, "left4me", "stop", "bots")
	})

	t.Run("when-empty: a server a lobby reserved waits for the players on their way", func(t *testing.T) {
		c.MustRun(t, "left4me", "start", "lobby")
		pid := mainPID(t, c, "lobby")
		const reserved = "lobby: reserved by a lobby: its players may be on their way; waiting"
		out, err := c.Run(t, "left4me", "restart", "--when-empty", "--deadline", "3s", "lobby")
		if err == nil || !strings.Contains(out, reserved) || !strings.Contains(err.Error(), "left running: lobby") {
			t.Errorf("restart --when-empty of a reserved server: %v\n%s", err, out)
		}
		if got := mainPID(t, c, "lobby"); got != pid {
			t.Fatalf("lobby was restarted (main PID %s, was %s) while reserved", got, pid)
		}
		// Once the reservation ran out with nobody, it hibernates, and
		// the restart goes ahead.
		out = c.MustRun(t, "left4me", "restart", "--when-empty", "--deadline", "2m", "lobby")
		if !strings.Contains(out, "lobby: restarted") {
			t.Errorf("restart --when-empty once the reservation ended:\n%s", out)
		}
		if got := mainPID(t, c, "lobby"); got == pid {
			t.Error("lobby was not restarted once its reservation ended")
		}
		j := c.Journal(t, "l4d2@lobby.service")
		ended := strings.Index(j, "the lobby's reservation ended with nobody on")
		if ended < 0 || strings.Index(j, "Server is hibernating") < ended {
			t.Errorf("the reservation did not end before the server hibernated:\n%s", j)
		}
		c.MustRun(t, "left4me", "stop", "lobby")
	})

	t.Run("list and status show the port it runs on, after a reload too", func(t *testing.T) {
		want := "busy: runs on ports 27041/28041/29041/30041, as started; its spec now says 27042/28042/29042/30042: `left4me restart busy` applies it"
		out := c.MustRun(t, "left4me", "list")
		if !strings.Contains(out, "27041/28041/29041/30041*") || !strings.Contains(out, want) {
			t.Errorf("list:\n%s", out)
		}
		c.MustRun(t, "left4me", "start", "busy") // reloads if it must; busy runs on
		if out := c.MustRun(t, "left4me", "list"); !strings.Contains(out, "27041/28041/29041/30041*") || !strings.Contains(out, want) {
			t.Errorf("list after left4me start:\n%s", out)
		}
		if out, _ := c.Run(t, "left4me", "status", "busy"); !strings.Contains(out, "127.0.0.1:27041, as started; its spec now says port 27042") {
			t.Errorf("status:\n%s", out)
		}
		c.MustRun(t, "left4me", "restart", "busy")
		if out := c.MustRun(t, "left4me", "list"); !strings.Contains(out, "busy    27042/28042/29042/30042 ") || strings.Contains(out, "runs on port") {
			t.Errorf("list after the restart applied the spec:\n%s", out)
		}
		query(t, c, 27042)
	})

	t.Run("members of left4me-admin read state and use the console", func(t *testing.T) {
		c.MustRun(t, "useradd", "--no-create-home", "--groups", "left4me-admin", "ops")
		c.MustRun(t, "sh", "-c", "chmod 0640 /etc/left4me/instances/*.yaml") // as left4me writes them
		as := func(args ...string) (string, error) {
			return c.Run(t, append([]string{"runuser", "-u", "ops", "--", "left4me"}, args...)...)
		}
		out, err := as("list")
		if err != nil || !strings.Contains(out, "busy    27042/28042/29042/30042") || !strings.Contains(out, "active") || strings.Contains(out, "invalid spec") ||
			!strings.Contains(out, "spec not readable: permission denied") {
			t.Errorf("list as ops: %v\n%s", err, out)
		}
		if out, err := as("status", "busy", "-n", "0"); err != nil || !strings.Contains(out, "not readable: permission denied") ||
			!strings.Contains(out, "runs on:   127.0.0.1:27042") || strings.Contains(out, "invalid") {
			t.Errorf("status as ops: %v\n%s", err, out)
		}
		if out, err := as("players", "busy"); err != nil || !strings.Contains(out, "3") {
			t.Errorf("players as ops: %v\n%s", err, out)
		}
		if out, err := as("send", "busy", "status"); err != nil {
			t.Errorf("send as ops: %v\n%s", err, out)
		}
		if out, err := c.Run(t, "sh", "-c", "echo status | runuser -u ops -- left4me console busy"); err != nil {
			t.Errorf("console as ops: %v\n%s", err, out)
		}
		// What stays root's: the specs, the start plans, the staged cfgs.
		for _, p := range []string{specPath + "busy.yaml", "/run/systemd/generator/l4d2@busy.service.d/left4me-start.plan"} {
			if out, err := c.Run(t, "runuser", "-u", "ops", "--", "cat", p); err == nil {
				t.Errorf("ops read %s:\n%s", p, out)
			}
		}
	})

	t.Run("arguments: two words in one item are refused, with the fix", func(t *testing.T) {
		setSpec(t, "bad", "port: 27047\narguments: [\"+map c2m1_highway\"]\n")
		defer os.Remove(filepath.Join(c.Root, specPath, "bad.yaml"))
		out, err := c.Run(t, "left4me", "validate", "bad")
		if err == nil || !strings.Contains(out, `bad.yaml:2:13: arguments[0]: "+map c2m1_highway" is one argument with a space in it`) ||
			!strings.Contains(out, "[+map, c2m1_highway]") {
			t.Errorf("validate: %v\n%s", err, out)
		}
	})

	t.Run("a port clash reads alike at start and in validate", func(t *testing.T) {
		setSpec(t, "clash", "port: 27043\n") // idle's, and newer
		defer os.Remove(filepath.Join(c.Root, specPath, "clash.yaml"))
		want := `clash.yaml:1:7: port: 27043 is already used by instance "idle" (its game port), whose spec is older; pick another port`
		out, err := c.Run(t, "left4me", "start", "clash")
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "canceled") || strings.Contains(err.Error(), "deactivating") {
			t.Errorf("start: %v\n%s", err, out)
		}
		if out, err := c.Run(t, "left4me", "validate", "clash"); err == nil || !strings.Contains(out+err.Error(), want) {
			t.Errorf("validate: %v\n%s", err, out)
		}
	})

	t.Run("a server whose spec was removed is listed and stopped", func(t *testing.T) {
		c.MustRun(t, "left4me", "start", "orphan", "idle")
		if err := os.Remove(filepath.Join(c.Root, specPath, "orphan.yaml")); err != nil {
			t.Fatal(err)
		}
		c.MustRun(t, "systemctl", "daemon-reload")
		out := c.MustRun(t, "left4me", "list")
		if !strings.Contains(out, "orphan  27045/28045/29045/30045!") || !strings.Contains(out, "! orphan: its spec is gone but its server still runs") {
			t.Errorf("list:\n%s", out)
		}
		if out, err := c.Run(t, "left4me", "status", "orphan", "-n", "0"); err != nil || !strings.Contains(out, "orphaned") {
			t.Errorf("status: %v\n%s", err, out)
		}
		// Its metrics go on, and what its server wrote can be saved.
		if out := c.MustRun(t, "left4me", "metrics"); !strings.Contains(out, `l4d2_up{instance="orphan"} 1`) {
			t.Errorf("metrics lack the orphan:\n%s", out)
		}
		if out, err := c.Run(t, "left4me", "backup", "orphan"); err != nil || !strings.Contains(out, "orphan has no spec; backing up what /var/lib/left4me/runtime/orphan holds") {
			t.Errorf("backup of the orphan: %v\n%s", err, out)
		}
		out = c.MustRun(t, "left4me", "stop", "--all")
		for _, n := range []string{"orphan", "idle", "busy"} {
			if !strings.Contains(out, n+": stopped") || unitState(t, c, n) != "inactive" {
				t.Errorf("%s after stop --all (%s):\n%s", n, unitState(t, c, n), out)
			}
		}
		if out := c.MustRun(t, "left4me", "list"); strings.Contains(out, "orphan") {
			t.Errorf("a stopped orphan is still listed:\n%s", out)
		}
		// What it left behind goes with delete, backed up first.
		out = c.MustRun(t, "left4me", "delete", "orphan", "--yes")
		if !strings.Contains(out, "orphan: had no spec") || !strings.Contains(out, "orphan: removed /var/lib/left4me/runtime/orphan") {
			t.Errorf("delete of what the orphan left:\n%s", out)
		}
		if _, err := os.Lstat(filepath.Join(state, "runtime/orphan")); !os.IsNotExist(err) {
			t.Errorf("runtime/orphan after delete: %v", err)
		}
		// The one taken above and delete's.
		if out := c.MustRun(t, "left4me", "backups", "orphan"); strings.Count(strings.TrimSpace(out), "\n") != 2 || !strings.Contains(out, "  delete") {
			t.Errorf("backups of the deleted orphan:\n%s", out)
		}
	})

	t.Run("a crash loop is retried later, and a stop ends the retries", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "--no-block", "l4d2@crash.service")
		retry := func() string { return c.Journal(t, "left4me-retry@crash.service") }
		c.WaitFor(t, "the first retry", 90*time.Second, func() bool {
			return strings.Contains(retry(), "started l4d2@crash.service again (retry 1)")
		})
		if j := retry(); !strings.Contains(j, "l4d2@crash.service failed (result ") || !strings.Contains(j, "starting it again in 5s (retry 1;") {
			t.Errorf("retry journal:\n%s", j)
		}
		c.WaitFor(t, "the second, longer wait", 90*time.Second, func() bool {
			return strings.Contains(retry(), "starting it again in 10s (retry 2;")
		})
		if out := c.MustRun(t, "left4me", "list"); !strings.Contains(out, "failed, retry in") {
			t.Errorf("list does not name the retry:\n%s", out)
		}
		// stop --all takes failed servers too: their retry ends.
		if out := c.MustRun(t, "left4me", "stop", "--all"); !strings.Contains(out, "crash: stopped") {
			t.Errorf("stop --all left the failed crash:\n%s", out)
		}
		c.WaitFor(t, "the retry to end", 10*time.Second, func() bool {
			out, _ := c.Run(t, "systemctl", "is-active", "left4me-retry@crash.service")
			return strings.TrimSpace(out) == "inactive"
		})
		time.Sleep(12 * time.Second) // past when retry 2 was due
		// Inactive, not failed: a stopped crash loop leaves the host
		// "running", not "degraded".
		if st := unitState(t, c, "crash"); st != "inactive" {
			t.Errorf("crash is %s after its stop (the retry started it, or it stayed failed)", st)
		}
		if strings.Contains(retry(), "(retry 2)") {
			t.Errorf("retry 2 ran after the stop:\n%s", retry())
		}
	})

	t.Run("game update --service: Ctrl-C stops the update it started, not one it follows", func(t *testing.T) {
		before := currentLink(t, state)
		depot(t, c, "160", "v160", nil)
		if err := os.WriteFile(filepath.Join(c.Root, "opt/steamcmd/depot/delay"), []byte("2s\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.Root, "etc/left4me/update.env"), []byte("LEFT4ME_STEAMCMD=/opt/steamcmd/steamcmd\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(filepath.Join(c.Root, "etc/left4me/update.env"))
		interrupt := func(t *testing.T) string {
			t.Helper()
			done := make(chan string, 1)
			go func() {
				out, err := c.Run(t, "sh", "-c", `echo $$ > /run/follow.pid; exec left4me game update --service`)
				done <- fmt.Sprintf("%s\nerror: %v", out, err)
			}()
			c.WaitFor(t, "steamcmd to download", 60*time.Second, func() bool {
				out, _ := c.Run(t, "pgrep", "-x", "steamcmd")
				return strings.TrimSpace(out) != ""
			})
			time.Sleep(time.Second)
			c.MustRun(t, "sh", "-c", `kill -INT "$(cat /run/follow.pid)"`)
			select {
			case out := <-done:
				return out
			case <-time.After(60 * time.Second):
				t.Fatal("left4me game update --service still runs 60 s after SIGINT")
			}
			return ""
		}
		out := interrupt(t)
		if !strings.Contains(out, "interrupted: left4me-update.service stopped") {
			t.Errorf("Ctrl-C of the update it started:\n%s", out)
		}
		// The update says it was interrupted, and no more (not the 32-bit
		// libraries' hint, where the host lacks them).
		if _, end, _ := strings.Cut(out, "left4me: interrupted"); strings.Contains(end, "apt-get install") {
			t.Errorf("an interrupted update gives the libraries' hint:\n%s", out)
		}
		if st, _ := c.Run(t, "systemctl", "is-active", "left4me-update.service"); strings.TrimSpace(st) == "activating" {
			t.Errorf("left4me-update.service still runs after the Ctrl-C")
		}
		if ps, _ := c.Run(t, "pgrep", "-x", "steamcmd"); strings.TrimSpace(ps) != "" {
			t.Errorf("steamcmd outlived the stop: pids %s", ps)
		}
		if got := currentLink(t, state); got != before {
			t.Errorf("installation -> %s, was %s", got, before)
		}
		// One the timer (here: by hand) started goes on.
		c.MustRun(t, "systemctl", "start", "--no-block", "left4me-update.service")
		out = interrupt(t)
		if !strings.Contains(out, "an update runs already") || !strings.Contains(out, "no longer following left4me-update.service, which goes on") {
			t.Errorf("Ctrl-C while following:\n%s", out)
		}
		if st, _ := c.Run(t, "systemctl", "is-active", "left4me-update.service"); strings.TrimSpace(st) != "activating" {
			t.Errorf("the followed update is %q after the Ctrl-C, want still activating", st)
		}
		c.MustRun(t, "systemctl", "stop", "left4me-update.service")
	})

	t.Run("a lost terminal during game update cleans up like Ctrl-C", func(t *testing.T) {
		before := currentLink(t, state)
		depot(t, c, "150", "v150", nil)
		if err := os.WriteFile(filepath.Join(c.Root, "opt/steamcmd/depot/delay"), []byte("2s\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan string, 1)
		go func() {
			out, err := c.Run(t, "sh", "-c", `echo $$ > /run/update.pid; exec env LEFT4ME_STEAMCMD=/opt/steamcmd/steamcmd left4me game update`)
			done <- fmt.Sprintf("%s\nerror: %v", out, err)
		}()
		c.WaitFor(t, "steamcmd to download", 60*time.Second, func() bool {
			out, _ := c.Run(t, "pgrep", "-x", "steamcmd")
			return strings.TrimSpace(out) != ""
		})
		time.Sleep(time.Second) // into its first file
		c.MustRun(t, "sh", "-c", `kill -HUP "$(cat /run/update.pid)"`)
		var out string
		select {
		case out = <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("left4me game update still runs 60 s after SIGHUP")
		}
		if strings.HasSuffix(out, "error: <nil>") {
			t.Errorf("the update did not stop on SIGHUP:\n%s", out)
		}
		if !strings.Contains(out, "steamcmd: downloading") {
			t.Errorf("the update had not begun downloading when its terminal went:\n%s", out)
		}
		if ps, _ := c.Run(t, "pgrep", "-x", "steamcmd"); strings.TrimSpace(ps) != "" {
			t.Errorf("steamcmd outlived the CLI: pids %s", ps)
		}
		if mi := c.MustRun(t, "cat", "/proc/self/mountinfo"); strings.Contains(mi, ".staging-") {
			t.Errorf("a staging mount is left:\n%s", mi)
		}
		if got := currentLink(t, state); got != before {
			t.Errorf("installation -> %s, was %s", got, before)
		}
	})
}
