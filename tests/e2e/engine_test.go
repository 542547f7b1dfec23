package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// Engines as they behave (issue 24 items 2-4, issue 26 items 2 and 4):
// each instance stacks one overlay whose standin.env sets the stand-in's
// behaviour.
var engineSpecs = map[string]string{
	// Stop: three signal behaviours, with and without players.
	"etc/left4me/instances/sig-none.yaml":    "port: 27030\noverlays: [sig-none]\n",
	"etc/left4me/instances/sig-none-p.yaml":  "port: 27031\noverlays: [sig-none-p]\n",
	"etc/left4me/instances/sig-delay.yaml":   "port: 27032\noverlays: [sig-delay]\n",
	"etc/left4me/instances/sig-delay-p.yaml": "port: 27033\noverlays: [sig-delay-p]\n",
	"etc/left4me/instances/sig-clean.yaml":   "port: 27034\noverlays: [sig-clean]\n",
	"etc/left4me/instances/sig-clean-p.yaml": "port: 27035\noverlays: [sig-clean-p]\n",
	"etc/left4me/instances/stuck.yaml":       "port: 27036\nhang_timeout: 0\noverlays: [stuck]\n",
	// Liveness: quiet but alive, each with a short hang_timeout.
	"etc/left4me/instances/mapload.yaml":    "port: 27040\nhang_timeout: 10\nstart_timeout: 60\noverlays: [mapload]\n",
	"etc/left4me/instances/hibernate.yaml":  "port: 27041\nhang_timeout: 10\noverlays: [hibernate]\n",
	"etc/left4me/instances/nomaster.yaml":   "port: 27042\nhang_timeout: 10\narguments: [-nomaster]\n",
	"etc/left4me/instances/flooded.yaml":    "port: 27043\nhang_timeout: 10\noverlays: [flooded]\n",
	"etc/left4me/instances/lan.yaml":        "port: 27044\nstart_timeout: 60\noverlays: [lan]\n",
	"etc/left4me/instances/stopped.yaml":    "port: 27045\nhang_timeout: 10\n",
	"etc/left4me/instances/spin.yaml":       "port: 27048\nhang_timeout: 10\noverlays: [spin]\n",
	"etc/left4me/instances/floodstart.yaml": "port: 27050\nhang_timeout: 10\noverlays: [flooded]\n",
	"etc/left4me/instances/svlan.yaml":      "port: 27049\nstart_timeout: 60\narguments: [+sv_lan, \"1\"]\n",
	// A crash with a breakpad-like dump.
	"etc/left4me/instances/dumper.yaml": "port: 27047\noverlays: [dumper]\n",
	// A hostile server's answer and output.
	"etc/left4me/instances/hostile.yaml": "port: 27046\nhang_timeout: 20\noverlays: [hostile]\n",
	// One that ends by itself (sv_shutdown once the game ended).
	"etc/left4me/instances/ends.yaml": "port: 27039\noverlays: [ends]\n",
}

var engineState = map[string]string{
	"installation/left4dead2/who.txt":                 "installation",
	"overlays/sig-none/left4dead2/cfg/standin.env":    "STANDIN_SIGNALS=none\n",
	"overlays/sig-none-p/left4dead2/cfg/standin.env":  "STANDIN_SIGNALS=none\nSTANDIN_PLAYERS=2\n",
	"overlays/sig-delay/left4dead2/cfg/standin.env":   "STANDIN_SIGNALS=delay\n",
	"overlays/sig-delay-p/left4dead2/cfg/standin.env": "STANDIN_SIGNALS=delay\nSTANDIN_PLAYERS=2\n",
	"overlays/sig-clean/left4dead2/cfg/standin.env":   "STANDIN_SIGNALS=clean\n",
	"overlays/sig-clean-p/left4dead2/cfg/standin.env": "STANDIN_SIGNALS=clean\nSTANDIN_PLAYERS=2\n",
	"overlays/stuck/left4dead2/cfg/standin.env":       "STANDIN_HANG_AFTER=1s\n",
	"overlays/mapload/left4dead2/cfg/standin.env":     "STANDIN_MAPLOAD=25s\n",
	"overlays/hibernate/left4dead2/cfg/standin.env":   "STANDIN_HIBERNATE=1\n",
	"overlays/flooded/left4dead2/cfg/standin.env":     "STANDIN_MAX_QUERIES_SEC=5\n",
	"overlays/lan/left4dead2/cfg/standin.env":         "STANDIN_LAN=1\n",
	"overlays/spin/left4dead2/cfg/standin.env":        "STANDIN_SPIN_AFTER=3s\n",
	"overlays/dumper/left4dead2/cfg/standin.env":      "STANDIN_CRASH_DUMP_AFTER=2s\n",
	"overlays/ends/left4dead2/cfg/standin.env":        "STANDIN_SHUTDOWN_AFTER=3s\n",
	"overlays/hostile/left4dead2/cfg/standin.env":     `STANDIN_A2S_MAP="c1m1\nMAINPID=1\nWATCHDOG_USEC=0\nEXTEND_TIMEOUT_USEC=600000000\nSTATUS=owned"` + "\n",
}

func TestEngines(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, engineState); err != nil {
		t.Fatal(err)
	}
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, engineSpecs) }})
	show := func(name, prop string) string {
		return strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", prop, "l4d2@"+name+".service"))
	}
	restarts := func(name string) string { return show(name, "NRestarts") }

	t.Run("stop ends inactive with Result=success whatever the engine does with signals", func(t *testing.T) {
		names := []string{"sig-none", "sig-none-p", "sig-delay", "sig-delay-p", "sig-clean", "sig-clean-p"}
		units := make([]string, len(names))
		for i, n := range names {
			units[i] = "l4d2@" + n + ".service"
		}
		c.MustRun(t, append([]string{"systemctl", "start"}, units...)...)
		c.MustRun(t, append([]string{"systemctl", "stop"}, units...)...)
		for _, n := range names {
			if st, res := show(n, "ActiveState"), show(n, "Result"); st != "inactive" || res != "success" {
				t.Errorf("%s: %s, Result=%s\n%s", n, st, res, c.Journal(t, "l4d2@"+n+".service"))
			}
			j := c.Journal(t, "l4d2@"+n+".service")
			if !strings.Contains(j, `left4me-relay: stopping: typing "quit" into the console`) || !strings.Contains(j, "standin: quitting on console quit") {
				t.Errorf("%s did not quit by the console:\n%s", n, j)
			}
		}
	})
	t.Run("a hung server is still killed at TimeoutStopSec", func(t *testing.T) {
		c.MustRun(t, "mkdir", "-p", "/run/systemd/system/l4d2@stuck.service.d")
		c.MustRun(t, "sh", "-c", "printf '[Service]\\nTimeoutStopSec=5\\n' >/run/systemd/system/l4d2@stuck.service.d/stop.conf && systemctl daemon-reload")
		c.MustRun(t, "systemctl", "start", "l4d2@stuck.service")
		c.WaitFor(t, "stuck to hang", 30*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "l4d2@stuck.service"), "standin: hanging now")
		})
		run := show("stuck", "InvocationID")
		c.MustRun(t, "systemctl", "stop", "l4d2@stuck.service")
		j := c.Journal(t, "l4d2@stuck.service")
		if res := show("stuck", "Result"); res != "timeout" || !strings.Contains(j, "Killing") {
			t.Errorf("Result=%s\n%s", res, j)
		}
		// The stop helper recorded the run as stopped on request (PID 1
		// ran a stop job), so retry needs no journal entry to know it.
		if b, err := os.ReadFile(filepath.Join(state, "runtime/stuck/stopped")); err != nil || strings.TrimSpace(string(b)) != run {
			t.Errorf("runtime/stuck/stopped: %q, %v; want the failed run %s", b, err, run)
		}
		// It was meant to be down: OnFailure='s retry leaves it so (it
		// started it again a minute later before).
		c.WaitFor(t, "the retry to decline", 30*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "left4me-retry@stuck.service"), "l4d2@stuck.service failed (result timeout) while it was being stopped as asked: not started again")
		})
		if st := show("stuck", "ActiveState"); st != "failed" {
			t.Errorf("stuck is %s after its stop timed out", st)
		}
		// A restart whose stop times out starts it again all the same
		// (systemd's restart job), and the retry stays out of it.
		c.MustRun(t, "systemctl", "start", "l4d2@stuck.service")
		c.WaitFor(t, "stuck to hang again", 30*time.Second, func() bool {
			return strings.Count(c.Journal(t, "l4d2@stuck.service"), "standin: hanging now") == 2
		})
		c.MustRun(t, "systemctl", "restart", "l4d2@stuck.service")
		c.WaitFor(t, "stuck to run again", 30*time.Second, func() bool { return show("stuck", "ActiveState") == "active" })
		// The retry's second run decided at once (it waits a minute only
		// to start a server again).
		c.WaitFor(t, "the retry's decision", 30*time.Second, func() bool {
			j := c.Journal(t, "left4me-retry@stuck.service")
			return strings.Count(j, "nothing to retry")+strings.Count(j, "not started again")+strings.Count(j, "starting it again") == 2
		})
		if j := c.Journal(t, "left4me-retry@stuck.service"); strings.Contains(j, "starting it again") {
			t.Errorf("the retry would start stuck again after a restart whose stop timed out:\n%s", j)
		}
		// A server that dies with an error on its way down (killed, as a
		// crash at quit would): one failure of a stop, not a crash loop.
		c.WaitFor(t, "stuck to hang a third time", 30*time.Second, func() bool {
			return strings.Count(c.Journal(t, "l4d2@stuck.service"), "standin: hanging now") == 3
		})
		c.MustRun(t, "systemctl", "stop", "--no-block", "l4d2@stuck.service")
		c.WaitFor(t, "the stop to begin", 10*time.Second, func() bool { return show("stuck", "ActiveState") == "deactivating" })
		c.MustRun(t, "kill", "-9", strconv.Itoa(enginePID(t, state, "stuck")))
		c.WaitFor(t, "the retry to decline again", 30*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "left4me-retry@stuck.service"), "l4d2@stuck.service failed (result exit-code) while it was being stopped as asked: not started again")
		})
		if st := show("stuck", "ActiveState"); st != "failed" {
			t.Errorf("stuck is %s after it died on its way down", st)
		}
	})

	t.Run("a rollout's wait: a spec broken or a stop meanwhile is respected", func(t *testing.T) {
		spec := "/etc/left4me/instances/sig-none-p.yaml"
		c.MustRun(t, "cp", "-p", spec, "/root/sig-none-p.yaml")
		c.MustRun(t, "systemctl", "start", "l4d2@sig-none-p.service", "l4d2@sig-clean-p.service")
		pid := show("sig-none-p", "MainPID")
		c.MustRun(t, "systemd-run", "--unit=rollout-wait", "left4me", "restart", "--when-empty", "--deadline", "2m", "sig-none-p", "sig-clean-p")
		c.WaitFor(t, "the rollout to wait for both", 30*time.Second, func() bool {
			j := c.Journal(t, "rollout-wait.service")
			return strings.Contains(j, "sig-none-p: 2 player(s)") && strings.Contains(j, "sig-clean-p: 2 player(s)")
		})
		// Meanwhile: sig-none-p's spec gets a typo, sig-clean-p is stopped
		// by hand, and sig-none-p's players leave.
		c.MustRun(t, "sh", "-c", "echo 'bogus: 1' >>"+spec)
		c.MustRun(t, "systemctl", "stop", "l4d2@sig-clean-p.service")
		c.MustRun(t, "left4me", "send", "sig-none-p", "kickall")
		c.WaitFor(t, "the rollout to end", 60*time.Second, func() bool {
			out, _ := c.Run(t, "systemctl", "is-active", "rollout-wait.service")
			return strings.TrimSpace(out) != "active"
		})
		j := c.Journal(t, "rollout-wait.service")
		if !strings.Contains(j, "sig-none-p: a start would now fail (its spec, an overlay or the game changed while it waited), so it was left as it is") ||
			!strings.Contains(j, "sig-clean-p: stopped meanwhile; left stopped") {
			t.Errorf("rollout:\n%s", j)
		}
		if st, now := show("sig-none-p", "ActiveState"), show("sig-none-p", "MainPID"); st != "active" || now != pid {
			t.Errorf("sig-none-p is %s, main PID %s (was %s)", st, now, pid)
		}
		if st := show("sig-clean-p", "ActiveState"); st != "inactive" {
			t.Errorf("sig-clean-p is %s", st)
		}
		c.MustRun(t, "cp", "-p", "/root/sig-none-p.yaml", spec)
		c.MustRun(t, "systemctl", "stop", "l4d2@sig-none-p.service")
	})

	t.Run("quiet but alive servers are not restarted; a stopped or spinning one is", func(t *testing.T) {
		// Started together: their waits overlap.
		c.MustRun(t, "systemctl", "start", "l4d2@mapload.service", "l4d2@hibernate.service", "l4d2@nomaster.service",
			"l4d2@flooded.service", "l4d2@stopped.service", "l4d2@spin.service")
		// A changelevel: 25 s without answers or output, hang_timeout 10.
		c.MustRun(t, "left4me", "send", "mapload", "changelevel c2m1_highway")
		// The stopped server: SIGSTOP its engine.
		engine := enginePID(t, state, "stopped")
		c.MustRun(t, "sh", "-c", "kill -STOP "+strconv.Itoa(engine))
		// The flooded server: others query it past its limit for 25 s.
		end := time.Now().Add(25 * time.Second)
		c.Netns(t, func() {
			conn, err := net.Dial("udp", "127.0.0.1:27043")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			req := a2s.EncodeRequest(nil)
			for time.Now().Before(end) {
				_, _ = conn.Write(req)
				time.Sleep(2 * time.Millisecond)
			}
		})
		c.WaitFor(t, "mapload's changelevel to end", 30*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "l4d2@mapload.service"), "standin: loaded changelevel c2m1_highway")
		})
		for _, n := range []string{"mapload", "hibernate", "nomaster", "flooded"} {
			j := c.Journal(t, "l4d2@"+n+".service")
			if st, r := show(n, "ActiveState"), restarts(n); st != "active" || r != "0" || strings.Contains(j, "Watchdog timeout") {
				t.Errorf("%s: %s after %s restarts\n%s", n, st, r, j)
			}
			// Silent on A2S for longer than hang_timeout, and kept.
			if !strings.Contains(j, "not answering A2S_INFO on 127.0.0.1:") || !strings.Contains(j, "but alive (") {
				t.Errorf("%s never went quiet:\n%s", n, j)
			}
		}
		if j := c.Journal(t, "l4d2@hibernate.service"); !strings.Contains(j, "ready: the server hibernates") {
			t.Errorf("hibernate:\n%s", j)
		}
		// list: hibernate has nobody on it, as its console said, while its
		// watch runs; nomaster answers nothing and its console said
		// nothing of its players: unknown.
		listed := c.MustRun(t, "left4me", "list")
		for name, want := range map[string]string{"hibernate": " active, hibernating 0 0 ", "nomaster": " active - - "} {
			if row := rowOf(listed, name); !strings.Contains(row, want) {
				t.Errorf("list's row of %s lacks %q:\n%s", name, want, listed)
			}
		}
		if j := c.Journal(t, "l4d2@nomaster.service"); !strings.Contains(j, "ready: started with -nomaster") {
			t.Errorf("nomaster:\n%s", j)
		}
		c.WaitFor(t, "the stopped server to be restarted", 60*time.Second, func() bool {
			return restarts("stopped") != "0" && unitState(t, c, "stopped") == "active"
		})
		if j := c.Journal(t, "l4d2@stopped.service"); !strings.Contains(j, "the process is stopped (SIGSTOP)") || !strings.Contains(j, "Watchdog timeout") {
			t.Errorf("stopped:\n%s", j)
		}
		// The spinning server: its main thread at 100 % CPU, never
		// sleeping, printing or reading; restarted within hang_timeout.
		c.WaitFor(t, "the spinning server to be restarted", 60*time.Second, func() bool {
			return restarts("spin") != "0"
		})
		if j := c.Journal(t, "l4d2@spin.service"); !strings.Contains(j, "standin: spinning now") ||
			!strings.Contains(j, "spins without sleeping, printing or reading a file (a busy loop)") || !strings.Contains(j, "Watchdog timeout") {
			t.Errorf("spin:\n%s", j)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@spin.service", "l4d2@stopped.service")
	})
	t.Run("a server that drops queries is restarted when empty at once: its console counts", func(t *testing.T) {
		// hibernate answers no A2S while empty, nomaster none at all;
		// both were started above. Asked by A2S alone they would wait
		// out the deadline as if occupied.
		old := map[string]string{"hibernate": mainPID(t, c, "hibernate"), "nomaster": mainPID(t, c, "nomaster")}
		out := c.MustRun(t, "left4me", "restart", "--when-empty", "--deadline", "2m", "hibernate", "nomaster")
		for n, pid := range old {
			if !strings.Contains(out, n+": restarted") || mainPID(t, c, n) == pid {
				t.Errorf("%s not restarted at once:\n%s", n, out)
			}
		}
		if strings.Contains(out, "waiting") || strings.Contains(out, "deadline") {
			t.Errorf("waited:\n%s", out)
		}
		if j := c.Journal(t, "l4d2@hibernate.service"); !strings.Contains(j, "players : 0 humans, 0 bots (8 max) (hibernating)") {
			t.Errorf("hibernate's console was not asked:\n%s", j)
		}
	})
	t.Run("a query flood from elsewhere during the start does not fail it", func(t *testing.T) {
		// Others query it 500 times a second, its limit 5 a second
		// (sv_max_queries_sec_global): most of the relay's queries are
		// dropped, from before the start until it is done.
		stop := make(chan struct{})
		flooded := make(chan error, 1)
		go func() {
			flooded <- c.ct.Netns(func() {
				conn, err := net.Dial("udp", "127.0.0.1:27050")
				if err != nil {
					return
				}
				defer conn.Close()
				req := a2s.EncodeRequest(nil)
				for {
					select {
					case <-stop:
						return
					default:
					}
					_, _ = conn.Write(req)
					time.Sleep(2 * time.Millisecond)
				}
			})
		}()
		_, err := c.Run(t, "systemctl", "start", "l4d2@floodstart.service")
		close(stop)
		if ferr := <-flooded; ferr != nil {
			t.Fatal(ferr)
		}
		j := c.Journal(t, "l4d2@floodstart.service")
		if err != nil || unitState(t, c, "floodstart") != "active" || restarts("floodstart") != "0" || !strings.Contains(j, "ready: ") {
			t.Errorf("start under a flood: %v\n%s", err, j)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@floodstart.service")
	})
	t.Run("a server with sv_lan 1 fails its start naming the cause", func(t *testing.T) {
		if _, err := c.Run(t, "systemctl", "start", "l4d2@svlan.service"); err == nil {
			t.Fatal("the start of an sv_lan 1 server succeeded")
		}
		j := c.Journal(t, "l4d2@svlan.service")
		if !strings.Contains(j, "the server can never answer A2S_INFO on 127.0.0.1:27049: it runs in LAN mode (sv_lan 1") {
			t.Errorf("journal:\n%s", j)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@svlan.service")
	})
	t.Run("a server in LAN mode fails its start naming the cause", func(t *testing.T) {
		if _, err := c.Run(t, "systemctl", "start", "l4d2@lan.service"); err == nil {
			t.Fatal("the start of a LAN-mode server succeeded")
		}
		j := c.Journal(t, "l4d2@lan.service")
		if !strings.Contains(j, "the server can never answer A2S_INFO on 127.0.0.1:27044: Steam did not start") {
			t.Errorf("journal:\n%s", j)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@lan.service")
	})

	t.Run("a crash dump written by ptrace lands in runtime/NAME/dumps", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@dumper.service")
		c.WaitFor(t, "the dump", 30*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "l4d2@dumper.service"), "Wrote minidump to /tmp/dumps/")
		})
		c.MustRun(t, "systemctl", "stop", "l4d2@dumper.service")
		dumps, _ := filepath.Glob(filepath.Join(state, "runtime", "dumper", "dumps", "*.dmp"))
		if len(dumps) == 0 {
			t.Errorf("no dump in runtime/dumper/dumps:\n%s", c.Journal(t, "l4d2@dumper.service"))
		}
	})
	t.Run("a map name cannot forge sd_notify lines", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@hostile.service")
		relay := show("hostile", "MainPID")
		time.Sleep(5 * time.Second) // a few watchdog feeds with the map in STATUS=
		if pid, wd, status := show("hostile", "MainPID"), show("hostile", "WatchdogUSec"), show("hostile", "StatusText"); pid != relay || pid == "1" || wd != "20s" || status == "owned" {
			t.Errorf("MainPID %s (relay %s), WatchdogUSec %s, StatusText %q", pid, relay, wd, status)
		}
		start := time.Now()
		c.MustRun(t, "systemctl", "stop", "l4d2@hostile.service")
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("stop took %v: EXTEND_TIMEOUT_USEC got through", d)
		}
	})
	t.Run("console: secrets not echoed to the journal, <0> not a priority, quit refused", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@hostile.service")
		c.MustRun(t, "left4me", "send", "hostile", "rcon_password hunter2")
		c.MustRun(t, "left4me", "send", "hostile", "<0>emergency")
		// The engine runs each command of a line (split at ';'): a quit
		// after one is refused as well, a secret after one redacted.
		for _, cmd := range []string{"quit", "say bye;quit", `"exit"`} {
			out, err := c.Run(t, "left4me", "send", "hostile", cmd)
			if err == nil || !strings.Contains(err.Error(), "use left4me stop NAME") {
				t.Errorf("send %q: %v\n%s", cmd, err, out)
			}
		}
		c.MustRun(t, "left4me", "send", "hostile", "say hi; rcon_password hunter3")
		j := c.Journal(t, "l4d2@hostile.service")
		if strings.Contains(j, "hunter2") || strings.Contains(j, "hunter3") || !strings.Contains(j, "rcon_password [redacted]") || !strings.Contains(j, "Console: hi") {
			t.Errorf("journal:\n%s", j)
		}
		pri := c.MustRun(t, "journalctl", "-u", "l4d2@hostile.service", "-o", "verbose", "--no-pager", "-g", "emergency")
		if !strings.Contains(pri, "PRIORITY=6") || strings.Contains(pri, "PRIORITY=0") {
			t.Errorf("priority of the <0> line:\n%s", pri)
		}
		if st := unitState(t, c, "hostile"); st != "active" {
			t.Errorf("hostile is %s", st)
		}
		// The server's user cannot swap its console socket for a link to
		// another server's (or its own listener): only root writes there.
		sock := "/run/left4me/console/hostile/console.sock"
		if out, err := c.Run(t, "setpriv", "--reuid=left4me", "--regid=left4me", "--clear-groups",
			"sh", "-c", "rm -f "+sock+" || ln -sf /run/left4me/console/stopped/console.sock "+sock+".new && mv -f "+sock+".new "+sock); err == nil {
			t.Errorf("the server's user replaced its console socket:\n%s", out)
		}
		if st := c.MustRun(t, "stat", "-c", "%U %G %a %F", sock); strings.TrimSpace(st) != "root left4me-admin 660 socket" {
			t.Errorf("console socket: %s", st)
		}
		if out := c.MustRun(t, "left4me", "send", "hostile", "status"); !strings.Contains(out, "hostname:") {
			t.Errorf("send status after the attempt:\n%s", out)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@hostile.service")
	})

	t.Run("a server that ends by itself is started again", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@ends.service")
		c.WaitFor(t, "ends to be started again", 60*time.Second, func() bool {
			n, _ := c.Run(t, "systemctl", "show", "-P", "NRestarts", "l4d2@ends.service")
			return strings.TrimSpace(n) != "0" && unitState(t, c, "ends") == "active"
		})
		j := c.Journal(t, "l4d2@ends.service")
		for _, want := range []string{"Server shutting down because sv_shutdown was done and a game has ended.",
			"the server quit on its own (a console or RCON quit, sv_shutdown, a plugin); exiting 1 so systemd restarts it"} {
			if !strings.Contains(j, want) {
				t.Errorf("journal lacks %q:\n%s", want, tail(j, 30))
			}
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@ends.service")
		c.Run(t, "systemctl", "reset-failed", "l4d2@ends.service")
	})
}

// enginePID is the PID the stand-in reported (in the container's PID
// namespace).
func enginePID(t *testing.T, state, name string) int {
	t.Helper()
	var r struct {
		PID int `json:"pid"`
	}
	b, err := os.ReadFile(filepath.Join(state, "runtime", name, "upper", "left4dead2", "standin-report.json"))
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil || r.PID <= 0 {
		t.Fatalf("stand-in report of %s: %v %+v", name, err, r)
	}
	return r.PID
}
