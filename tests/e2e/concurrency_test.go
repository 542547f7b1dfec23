package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrency runs operations that must not interleave side by side,
// as two operators typing at once would: one proceeds, the other waits or
// refuses naming the holder, and nothing is corrupted.
func TestConcurrency(t *testing.T) {
	requireE2E(t)
	sc := relScale()
	fig := newFigures(t, sc, "update+update", "update+gc", "build+gc", "reset+start", "create+create")
	c := bootStoreHost(t, "", crashSetup)
	c.MustRun(t, l4m("overlay", "build", "mods")...)
	c.MustRun(t, "systemctl", "reset-failed", "l4d2@c0.service")
	c.MustRun(t, "systemctl", "start", "l4d2@c0.service")
	waitActive(t, c, "c0")

	// pair runs a, then b a moment later, both to their end.
	pair := func(a, b []string) (outA, outB string, errA, errB error) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			outA, errA = c.Run(t, append([]string{"sh", "-c", `exec "$@" 2>&1`, "sh"}, a...)...)
		}()
		time.Sleep(300 * time.Millisecond)
		outB, errB = c.Run(t, append([]string{"sh", "-c", `exec "$@" 2>&1`, "sh"}, b...)...)
		wg.Wait()
		return
	}
	// refused: the second failed, naming the first as the holder.
	refused := func(out string, err error, holder string) bool {
		return err != nil && strings.Contains(out, "holds the lock") && strings.Contains(out, holder)
	}
	clean := func() bool { return len(consistencyProblems(t, c)) == 0 }

	// The stand-in steamcmd sleeps after each file, so that the first
	// update still holds the lock when the second command starts (300 ms
	// later): an update of this small depot is over in less on a quiet host.
	slow := map[string]string{"delay": "300ms"}
	depot(t, c, "201", "v201", slow)
	oa, ob, ea, eb := pair(l4m("game", "update"), l4m("game", "update"))
	ok := ea == nil && refused(ob, eb, "left4me game update") && clean()
	fig.add("update+update", ok, "two game updates at once: first %v, second refused naming the holder: %v, consistent: %v", errOK(ea), refused(ob, eb, "left4me game update"), clean())
	if !ok {
		t.Logf("first:\n%s\nsecond:\n%s", oa, ob)
	}

	depot(t, c, "202", "v202", slow)
	oa, ob, ea, eb = pair(l4m("game", "update"), l4m("game", "gc"))
	ok = ea == nil && refused(ob, eb, "left4me game update") && clean()
	fig.add("update+gc", ok, "game update with game gc: update %v, gc refused naming the holder: %v, consistent: %v", errOK(ea), refused(ob, eb, "left4me game update"), clean())
	if !ok {
		t.Logf("update:\n%s\ngc:\n%s", oa, ob)
	}

	c.MustRun(t, "sh", "-c", "echo v2 > /etc/left4me/overlays/mods.txt")
	oa, ob, ea, eb = pair(l4m("overlay", "build", "mods"), l4m("overlay", "gc"))
	ok = ea == nil && refused(ob, eb, "left4me overlay build") && clean()
	fig.add("build+gc", ok, "overlay build with overlay gc: build %v, gc refused naming the holder: %v, consistent: %v", errOK(ea), refused(ob, eb, "left4me overlay build"), clean())
	if !ok {
		t.Logf("build:\n%s\ngc:\n%s", oa, ob)
	}

	// reset while a start runs: whichever order they end up in, the
	// instance is either running on a fresh tree or stopped, mounted as
	// often as it runs, and the next start works.
	resetOK := 0
	const resets = 3
	for i := range resets {
		c.MustRun(t, "systemctl", "stop", "l4d2@c0.service")
		c.MustRun(t, "systemctl", "reset-failed", "l4d2@c0.service")
		oa, ob, ea, eb = pair(l4m("start", "c0"), l4m("reset", "--yes", "c0"))
		st := unitState(t, c, "c0")
		m := mountCount(t, c, "c0")
		good := (st == "active" && m == 1) || (st != "active" && m == 0)
		if _, err := c.Run(t, "systemctl", "restart", "l4d2@c0.service"); err != nil || mountCount(t, c, "c0") != 1 {
			good = false
		}
		if good && clean() {
			resetOK++
		} else {
			t.Logf("reset during start %d: state %s, %d mount(s)\nstart: %v\n%s\nreset: %v\n%s", i, st, m, ea, oa, eb, ob)
		}
	}
	fig.add("reset+start", resetOK == resets, "reset during a start: %d/%d left a running or stopped instance, mounted as often as it runs, startable after", resetOK, resets)

	// Two creates of one port, at the same moment, several times.
	wins, msgs := 0, 0
	const creates = 5
	for i := range creates {
		a, b := fmt.Sprintf("pa%d", i), fmt.Sprintf("pb%d", i)
		port := fmt.Sprint(27300 + i)
		var wg sync.WaitGroup
		outs, errs := make([]string, 2), make([]error, 2)
		for j, n := range []string{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[j], errs[j] = c.Run(t, "sh", "-c", `exec left4me create "$1" --port "$2" 2>&1`, "sh", n, port)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) != (errs[1] == nil) {
			wins++
			loser, winner := 1, a
			if errs[0] != nil {
				loser, winner = 0, b
			}
			if strings.Contains(outs[loser], "port: "+port+" is already used by instance \""+winner+"\"") {
				msgs++
			} else {
				t.Logf("loser's message:\n%s", outs[loser])
			}
		} else {
			t.Logf("create %s and %s on port %s: %v, %v\n%s\n%s", a, b, port, errs[0], errs[1], outs[0], outs[1])
		}
	}
	fig.add("create+create", wins == creates && msgs == creates && clean(),
		"two creates with one port at once: %d/%d had exactly one winner, %d/%d losers named the instance holding the port; consistent: %v", wins, creates, msgs, creates, clean())
}

func errOK(err error) string {
	if err == nil {
		return "succeeded"
	}
	return "failed: " + err.Error()
}
