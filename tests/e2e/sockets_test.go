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
// and started again by systemd; its neighbour is untouched.
func TestSocketBound(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, map[string]string{"overlays/hoarder/left4dead2/cfg/standin_attack": "ports 1100\n"}); err != nil {
		t.Fatal(err)
	}
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error {
			return writeFiles(root, map[string]string{
				"etc/left4me/instances/hoarder.yaml": "port: 27101\noverlays: [hoarder]\n",
				"etc/left4me/instances/calm.yaml":    "port: 27102\n",
				"etc/left4me/alerts.yaml":            "command: /usr/local/bin/page\n",
				"usr/local/bin/page":                 "#!/bin/sh\ncat >>/run/events.jsonl; echo >>/run/events.jsonl\n",
			})
		}})
	c.MustRun(t, "chmod", "0755", "/usr/local/bin/page")
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
	c.WaitFor(t, "the hoarder started again", 60*time.Second, func() bool {
		n, _ := c.Run(t, "systemctl", "show", "-P", "NRestarts", "l4d2@hoarder.service")
		return strings.TrimSpace(n) != "0" && unitState(t, c, "hoarder") == "active"
	})
	if got := mainPID(t, c, "calm"); got != calm || unitState(t, c, "calm") != "active" {
		t.Errorf("calm: PID %s (was %s), %s", got, calm, unitState(t, c, "calm"))
	}
	if out, _ := c.Run(t, "cat", "/run/events.jsonl"); strings.Contains(out, `"instance":"calm"`) {
		t.Errorf("calm was alerted:\n%s", out)
	}
}
