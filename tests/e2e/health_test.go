package e2e

import (
	"strings"
	"testing"
	"time"
)

// Each instance stacks one overlay whose standin.env tells the stand-in
// how to misbehave.
var healthSpecs = map[string]string{
	"etc/left4me/instances/slow.yaml":   "port: 27020\nstart_timeout: 30\noverlays: [slow]\n",
	"etc/left4me/instances/never.yaml":  "port: 27021\nstart_timeout: 10\noverlays: [never]\n",
	"etc/left4me/instances/hang.yaml":   "port: 27022\nhang_timeout: 10\noverlays: [hang]\n",
	"etc/left4me/instances/crash.yaml":  "port: 27023\noverlays: [crash]\n",
	"etc/left4me/instances/busy.yaml":   "port: 27024\noverlays: [busy]\n",
	"etc/left4me/instances/steady.yaml": "port: 27025\nhang_timeout: 10\n",
	"etc/left4me/instances/edited.yaml": "port: 27026\n",
}

var healthState = map[string]string{
	"installation/left4dead2/who.txt":             "installation",
	"overlays/slow/left4dead2/cfg/standin.env":    "STANDIN_START_DELAY=3s\n",
	"overlays/never/left4dead2/cfg/standin.env":   "STANDIN_START_DELAY=1h\n",
	"overlays/hang/left4dead2/cfg/standin.env":    "STANDIN_HANG_AFTER=3s\n",
	"overlays/crash/left4dead2/cfg/standin_crash": "",
	"overlays/crash/left4dead2/cfg/standin.env":   "",
	"overlays/busy/left4dead2/cfg/standin.env":    "STANDIN_PLAYERS=2\n",
}

func TestHealth(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, healthState); err != nil {
		t.Fatal(err)
	}
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, healthSpecs) }})

	t.Run("start completes only when the server answers", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@slow.service")
		// No retries: the start job itself waited for the answer.
		if st := unitState(t, c, "slow"); st != "active" {
			t.Fatalf("slow is %s right after its start job", st)
		}
		query(t, c, 27020)
		if j := c.Journal(t, "l4d2@slow.service"); !strings.Contains(j, `ready: "standin" answers A2S_INFO on 127.0.0.1:27020 after 3.`) {
			t.Errorf("journal:\n%s", j)
		}
	})
	t.Run("a server that never answers fails its start, saying so", func(t *testing.T) {
		if _, err := c.Run(t, "systemctl", "start", "l4d2@never.service"); err == nil {
			t.Fatal("start of a silent server succeeded")
		}
		if j := c.Journal(t, "l4d2@never.service"); !strings.Contains(j, "the server never answered A2S_INFO on 127.0.0.1:27021 within 9.5s") {
			t.Errorf("journal:\n%s", j)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@never.service")
	})
	t.Run("a hung server is restarted by the watchdog", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@hang.service")
		old := mainPID(t, c, "hang")
		run := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "InvocationID", "l4d2@hang.service"))
		c.WaitFor(t, "the watchdog to fire", 60*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "l4d2@hang.service"), "Watchdog timeout")
		})
		j := c.Journal(t, "l4d2@hang.service")
		if !strings.Contains(j, "unresponsive: no A2S_INFO answer on 127.0.0.1:27022") {
			t.Errorf("the journal does not say why:\n%s", j)
		}
		c.WaitFor(t, "hang restarted", 30*time.Second, func() bool {
			pid := mainPID(t, c, "hang")
			return pid != old && pid != "0" && unitState(t, c, "hang") == "active"
		})
		// Nobody asked for that end: the stop helper records no stop.
		if b, _ := c.Run(t, "cat", "/var/lib/left4me/runtime/hang/stopped"); strings.Contains(b, run) {
			t.Errorf("the watchdog's kill of run %s was recorded as a stop asked for", run)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@hang.service")
	})
	t.Run("the watchdog is fed across a re-execution of systemd", func(t *testing.T) {
		// The relay reaches PID 1 only through the socket the start helper
		// connected for it (the unit hides the path): a daemon-reexec (a
		// systemd upgrade runs one) must not cut it, or every server with
		// a hang_timeout would be killed as hung.
		c.MustRun(t, "systemctl", "start", "l4d2@steady.service")
		pid := mainPID(t, c, "steady")
		c.MustRun(t, "systemctl", "daemon-reexec")
		c.MustRun(t, "systemctl", "daemon-reload")
		time.Sleep(25 * time.Second) // two and a half hang_timeouts
		j := c.Journal(t, "l4d2@steady.service")
		if now := mainPID(t, c, "steady"); now != pid || unitState(t, c, "steady") != "active" || strings.Contains(j, "Watchdog timeout") {
			t.Errorf("steady: main PID %s (was %s), %s\n%s", now, pid, unitState(t, c, "steady"), j)
		}
		if out, err := c.Run(t, "left4me", "send", "steady", "status"); err != nil || !strings.Contains(out, "hostname") {
			t.Errorf("console after the re-execution: %v\n%s", err, out)
		}
		// Who typed what is in the journal, a secret redacted.
		c.MustRun(t, "left4me", "send", "steady", "sv_password", "hunter2")
		c.MustRun(t, "journalctl", "--sync")
		if j := c.Journal(t, "l4d2@steady.service"); !strings.Contains(j, "left4me-relay: console: uid 0 typed: status") ||
			!strings.Contains(j, "typed: sv_password [redacted]") || strings.Contains(j, "hunter2") {
			t.Errorf("the console's audit lines:\n%s", j)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@steady.service")
	})
	t.Run("a crashed server comes back after an edit of its spec", func(t *testing.T) {
		// The operator prepares an edit for the next restart; meanwhile
		// the server crashes. systemd's own restart brings it back on the
		// spec it loaded (the unit's port and arguments are that spec's),
		// saying so; a start somebody asks for still waits for a reload.
		c.MustRun(t, "systemctl", "start", "l4d2@edited.service")
		old := mainPID(t, c, "edited")
		c.MustRun(t, "sh", "-c", `printf 'config: ["hostname edited"] # for the next restart\n' >> /etc/left4me/instances/edited.yaml`)
		c.MustRun(t, "systemctl", "kill", "--signal=SIGKILL", "l4d2@edited.service")
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			pid := mainPID(t, c, "edited")
			if pid != old && pid != "0" && unitState(t, c, "edited") == "active" {
				break
			}
			if time.Now().After(deadline) {
				j, _ := c.Run(t, "journalctl", "-u", "l4d2@edited.service", "--no-pager", "-o", "short-precise")
				t.Fatalf("edited not restarted by systemd in 60 s; its journal:\n%s", j)
			}
		}
		if j := c.Journal(t, "l4d2@edited.service"); !strings.Contains(j, "systemd restarts the server by itself, so it runs as before, on the spec systemd loaded: `left4me restart edited` applies the edit") {
			t.Errorf("journal:\n%s", j)
		}
		cfg := func() string {
			out, _ := c.Run(t, "cat", "/var/lib/left4me/runtime/edited/merged/left4dead2/cfg/server.cfg")
			return out
		}
		if strings.Contains(cfg(), "hostname edited") {
			t.Errorf("the automatic restart applied the edit:\n%s", cfg())
		}
		if _, err := c.Run(t, "left4me", "status", "edited"); err != nil {
			t.Errorf("status: %v", err)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@edited.service")
		if out, err := c.Run(t, "systemctl", "start", "l4d2@edited.service"); err == nil && unitState(t, c, "edited") == "active" {
			t.Errorf("a start asked for ran on the old spec: %s", out)
		}
		c.MustRun(t, "left4me", "start", "edited")
		if !strings.Contains(cfg(), "hostname edited") {
			t.Errorf("left4me start did not apply the edit:\n%s", cfg())
		}
		c.MustRun(t, "left4me", "stop", "edited")
	})
	t.Run("a crash loop ends at the start limit", func(t *testing.T) {
		if _, err := c.Run(t, "systemctl", "start", "l4d2@crash.service"); err == nil {
			t.Fatal("start of a crashing server succeeded")
		}
		c.WaitFor(t, "crash to hit its start limit", 90*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "l4d2@crash.service"), "Start request repeated too quickly")
		})
		show := c.MustRun(t, "systemctl", "show", "-P", "NRestarts", "-P", "ActiveState", "l4d2@crash.service")
		if strings.Fields(show)[0] != "5" || strings.Fields(show)[1] != "failed" {
			t.Errorf("NRestarts, ActiveState = %q", show)
		}
		j := c.Journal(t, "l4d2@crash.service")
		for _, want := range []string{"standin: crash requested", "the server exited before it answered A2S_INFO"} {
			if !strings.Contains(j, want) {
				t.Errorf("journal lacks %q:\n%s", want, j)
			}
		}
	})
	t.Run("stop --when-empty waits for players to leave", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@busy.service")
		out, err := c.Run(t, "left4me", "stop", "--when-empty", "--deadline", "3s", "busy")
		if err == nil || !strings.Contains(out, "busy: 2 player(s) on port 27024; waiting") || !strings.Contains(err.Error(), "left running: busy") {
			t.Errorf("stop of an occupied server: %v\n%s", err, out)
		}
		if st := unitState(t, c, "busy"); st != "active" {
			t.Errorf("busy is %s: players were kicked", st)
		}
		// slow has no players: restarted at once.
		if out := c.MustRun(t, "left4me", "restart", "--when-empty", "slow"); !strings.Contains(out, "slow: restarted") {
			t.Errorf("restart --when-empty of an empty server:\n%s", out)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@busy.service")
	})
	t.Run("a forced restart warns the players in order before it", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@busy.service")
		old := mainPID(t, c, "busy")
		out := c.MustRun(t, "left4me", "restart", "--when-empty", "--deadline", "12s", "--force",
			"--warn-at", "8s,4s", "--announce", "restart in %s, sorry", "busy")
		if !strings.Contains(out, "busy: deadline reached with players on it (or not answering); going ahead with the restart") || mainPID(t, c, "busy") == old {
			t.Errorf("restart:\n%s", out)
		}
		// In the journal: three warnings, counting down, then the quit.
		var lefts []string
		quitAt := -1
		for i, l := range strings.Split(c.Journal(t, "l4d2@busy.service"), "\n") {
			if w, ok := strings.CutPrefix(l, "Console: restart in "); ok && quitAt < 0 {
				lefts = append(lefts, strings.TrimSuffix(w, ", sorry"))
			}
			if strings.Contains(l, "standin: quitting on console quit") && len(lefts) > 0 && quitAt < 0 {
				quitAt = i
			}
		}
		if len(lefts) != 3 || quitAt < 0 {
			t.Fatalf("warnings %q before the quit (line %d):\n%s", lefts, quitAt, c.Journal(t, "l4d2@busy.service"))
		}
		prev := time.Hour
		for _, w := range lefts {
			d, err := time.ParseDuration(w)
			if err != nil || d >= prev {
				t.Errorf("warnings out of order: %q", lefts)
			}
			prev = d
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@busy.service")
	})
	t.Run("stop types quit, a clean quit", func(t *testing.T) {
		c.MustRun(t, "systemctl", "stop", "l4d2@slow.service")
		if j := c.Journal(t, "l4d2@slow.service"); !strings.Contains(j, "standin: quitting on console quit") {
			t.Errorf("journal:\n%s", j)
		}
		if r := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "Result", "l4d2@slow.service")); r != "success" {
			t.Errorf("result %s", r)
		}
	})
}
