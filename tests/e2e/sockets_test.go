package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSocketBound: a server whose plugin takes the host's ephemeral ports
// (here 1100 UDP sockets handed to a process that left its session) is
// killed by its relay within seconds, that process too, alerted at once
// and started again by systemd; so is one whose plugin lowers the relay's
// open-file limit to blind its count; their neighbour is untouched.
func TestSocketBound(t *testing.T) {
	requireE2E(t)
	c, _ := bootPaged(t, map[string]string{
		"overlays/hoarder/left4dead2/cfg/standin_attack": "ports 1100\n",
		"overlays/blinder/left4dead2/cfg/standin_attack": "blind-relay\n",
	}, map[string]string{
		"etc/left4me/instances/hoarder.yaml": "port: 27101\noverlays: [hoarder]\n",
		"etc/left4me/instances/calm.yaml":    "port: 27102\n",
		"etc/left4me/instances/blinder.yaml": "port: 27105\noverlays: [blinder]\n",
	})
	c.MustRun(t, "systemctl", "start", "l4d2@calm.service")
	calm := mainPID(t, c, "calm")
	// Its start may already be over: the attack runs once the engine is up.
	_, _ = c.Run(t, "systemctl", "start", "l4d2@hoarder.service")
	var holder string
	c.WaitFor(t, "the hoarder's plugin to take its ports", 60*time.Second, func() bool {
		m := regexp.MustCompile(`attack: PID (\d+) holds 1100 UDP ports`).FindStringSubmatch(c.Journal(t, "l4d2@hoarder.service"))
		if m != nil {
			holder = m[1]
		}
		return m != nil
	})
	c.WaitFor(t, "the relay to kill it", 30*time.Second, func() bool {
		out, _ := c.Run(t, "journalctl", "-u", "l4d2@hoarder.service", "-p", "err", "--no-pager", "-o", "cat")
		return strings.Contains(out, "of the host's ephemeral ports") && strings.Contains(out, "more than the 1024 a server may")
	})
	c.WaitFor(t, "the process holding the ports to be gone", 30*time.Second, func() bool {
		_, err := c.Run(t, "test", "-e", "/proc/"+holder)
		return err != nil
	})
	c.WaitFor(t, "the alert", time.Minute, func() bool {
		out, _ := c.Run(t, "cat", "/run/events.jsonl")
		return strings.Contains(out, `"event":"socket-kill","instance":"hoarder"`) && strings.Contains(out, "systemd restarts it")
	})
	// Started again (the plugin takes them once per instance here).
	waitRestarted(t, c, "hoarder", "0")
	// A plugin that lowers its relay's open-file limit (prlimit needs
	// only the same uid) would blind every later count: the relay kills
	// it at its next count instead, saying so, alerted as a socket kill.
	_, _ = c.Run(t, "systemctl", "start", "l4d2@blinder.service")
	c.WaitFor(t, "the relay to kill the blinder", 30*time.Second, func() bool {
		out, _ := c.Run(t, "journalctl", "-u", "l4d2@blinder.service", "-p", "err", "--no-pager", "-o", "cat")
		return strings.Contains(out, "the server blinds the socket count: its user lowered the relay's open-file limit (prlimit) to 8")
	})
	c.WaitFor(t, "the blinder's alert", time.Minute, func() bool {
		out, _ := c.Run(t, "cat", "/run/events.jsonl")
		return strings.Contains(out, `"event":"socket-kill","instance":"blinder"`) && strings.Contains(out, "lowered its relay's open-file limit")
	})
	waitRestarted(t, c, "blinder", "0")
	if got := mainPID(t, c, "calm"); got != calm || unitState(t, c, "calm") != "active" {
		t.Errorf("calm: PID %s (was %s), %s", got, calm, unitState(t, c, "calm"))
	}
	if out, _ := c.Run(t, "cat", "/run/events.jsonl"); strings.Contains(out, `"instance":"calm"`) {
		t.Errorf("calm was alerted:\n%s", out)
	}
}

// TestRelayStopped: a server with hang_timeout: 0 whose plugin tries to
// stop its relay (SIGSTOP, the same user) and then takes the host's ports.
// Where the kernel has Landlock scopes (Linux 6.12) the signal is refused
// (the relay starts the server in a scoped domain), and the relay, still
// counting, kills it for the ports; elsewhere the stop works, the stopped
// relay no longer counts, and systemd's watchdog kills the server all the
// same (only the relay feeds it, layout.RelayWatchdog). Either way a relay
// that stops (here stopped by root, as a bug of its own would) gets its
// server killed by the watchdog, the ports' holder with it, alerted as
// such and started again. Beside it a server with hang_timeout: 0 whose
// engine hangs (its relay runs) is left alone, as hang_timeout: 0 says.
func TestRelayStopped(t *testing.T) {
	requireE2E(t)
	c, _ := bootPaged(t, map[string]string{
		"overlays/stopper/left4dead2/cfg/standin_attack": "stop-relay 3s\nports 1100\n",
		"overlays/hung/left4dead2/cfg/standin.env":       "STANDIN_HANG_AFTER=1s\n",
	}, map[string]string{
		"etc/left4me/instances/stopper.yaml": "port: 27103\nhang_timeout: 0\noverlays: [stopper]\n",
		"etc/left4me/instances/hung.yaml":    "port: 27104\nhang_timeout: 0\noverlays: [hung]\n",
	})
	c.MustRun(t, "systemctl", "start", "l4d2@hung.service")
	hung := mainPID(t, c, "hung")
	c.MustRun(t, "systemctl", "start", "l4d2@stopper.service")
	if got := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "WatchdogUSec", "l4d2@stopper.service")); got != "30s" {
		t.Errorf("WatchdogUSec=%s with hang_timeout: 0, want the relay's 30s", got)
	}
	relayState := func() string {
		st, _ := c.Run(t, "sh", "-c", "ps -o stat= -p $(systemctl show -P MainPID l4d2@stopper.service)")
		return strings.TrimSpace(st)
	}
	restarts := func() string {
		n, _ := c.Run(t, "systemctl", "show", "-P", "NRestarts", "l4d2@stopper.service")
		return strings.TrimSpace(n)
	}
	var holder string
	holding := func() bool {
		out, _ := c.Run(t, "pgrep", "-x", "sleep")
		holder = strings.TrimSpace(out)
		return holder != ""
	}
	if landlockABI() >= 6 {
		c.WaitFor(t, "the plugin's SIGSTOP to its relay refused", 30*time.Second, func() bool {
			return strings.Contains(c.Journal(t, "l4d2@stopper.service"), "attack: stop-relay: operation not permitted")
		})
		c.WaitFor(t, "the relay to kill it for the ports", 60*time.Second, func() bool {
			out, _ := c.Run(t, "cat", "/run/events.jsonl")
			return strings.Contains(out, `"event":"socket-kill","instance":"stopper"`)
		})
		if strings.Contains(c.Journal(t, "l4d2@stopper.service"), "Watchdog timeout") {
			t.Error("the watchdog fired: the relay was stopped")
		}
		waitRestarted(t, c, "stopper", "0")
		// A relay that stops for another reason: the watchdog.
		c.MustRun(t, "sh", "-c", "kill -STOP $(systemctl show -P MainPID l4d2@stopper.service)")
	} else {
		c.WaitFor(t, "the relay stopped and the ports taken", 30*time.Second, func() bool {
			return strings.HasPrefix(relayState(), "T") && holding()
		})
	}
	before := restarts()
	c.WaitFor(t, "systemd's watchdog to kill it", 60*time.Second, func() bool {
		return strings.Contains(c.Journal(t, "l4d2@stopper.service"), "Watchdog timeout (limit 30s)!")
	})
	if holder != "" {
		c.WaitFor(t, "the ports' holder to be gone", 30*time.Second, func() bool {
			_, err := c.Run(t, "test", "-e", "/proc/"+holder)
			return err != nil
		})
	}
	c.WaitFor(t, "the alert", time.Minute, func() bool {
		out, _ := c.Run(t, "cat", "/run/events.jsonl")
		return strings.Contains(out, `"event":"hang-kill","instance":"stopper"`) && strings.Contains(out, "relay stopped feeding the watchdog for 30s")
	})
	waitRestarted(t, c, "stopper", before)
	// More than 30 s after its engine hung.
	if !strings.Contains(c.Journal(t, "l4d2@hung.service"), "standin: hanging now") {
		t.Error("hung never hung")
	}
	if got, n := mainPID(t, c, "hung"), c.MustRun(t, "systemctl", "show", "-P", "NRestarts", "l4d2@hung.service"); got != hung || strings.TrimSpace(n) != "0" {
		t.Errorf("hung (hang_timeout: 0, its relay running): PID %s (was %s), %s restarts", got, hung, n)
	}
}
