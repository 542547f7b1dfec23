package commands

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
)

// A failed instance is started again after the back-off, which doubles
// from one retry to the next; one that is not failed (systemd restarts it,
// or someone started or stopped it meanwhile) is left alone.
func TestRetry(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	t.Setenv("LEFT4ME_RETRY_BASE", "20ms")
	now := time.Now()
	te.Now = func() time.Time { return now }
	te.sd.set("l4d2@a.service", "failed", "failed")
	for i, want := range []string{"starting it again in 20ms (retry 1;", "starting it again in 40ms (retry 2;"} {
		te.sd.set("l4d2@a.service", "failed", "failed") // the start it retries failed again
		if err := te.run("retry", "a"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(te.out.String(), want) || !strings.Contains(te.out.String(), "started l4d2@a.service again") {
			t.Errorf("retry %d said %q, want %q", i, te.out, want)
		}
		if got := te.sd.calls[len(te.sd.calls)-2:]; got[0] != "reset-failed l4d2@a.service" || got[1] != "enqueue start l4d2@a.service" {
			t.Errorf("calls %v", te.sd.calls)
		}
	}
	// An hour of running later, the back-off starts over.
	now = now.Add(2 * time.Hour)
	te.sd.set("l4d2@a.service", "failed", "failed")
	if err := te.run("retry", "a"); err != nil || !strings.Contains(te.out.String(), "in 20ms (retry 1;") {
		t.Errorf("after an hour: %v %q", err, te.out)
	}
	te.sd.set("l4d2@a.service", "activating", "auto-restart")
	n := len(te.sd.calls)
	if err := te.run("retry", "a"); err != nil || !strings.Contains(te.out.String(), "nothing to retry") || len(te.sd.calls) != n {
		t.Errorf("not failed: %v %q %v", err, te.out, te.sd.calls[n:])
	}
	// list names a pending retry.
	te.sd.set("l4d2@a.service", "failed", "failed")
	if err := te.unitctl().WriteRetry("a", unitctl.RetryState{Count: 1, Last: now, Next: now.Add(3 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := te.run("list"); err != nil || !strings.Contains(te.out.String(), "failed, retry in 3m0s") {
		t.Errorf("list: %v\n%s", err, te.out)
	}
	// and so does status.
	if _ = te.run("status", "a", "-n", "0"); !strings.Contains(te.out.String(), "retry:     in 3m0s, by left4me-retry@a") {
		t.Errorf("status:\n%s", te.out)
	}
	// A stop (SIGTERM from PartOf=) cancels the wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t.Setenv("LEFT4ME_RETRY_BASE", "1h")
	te.out.Reset()
	if err := Run(ctx, te.Env, []string{"left4me", "retry", "a"}); err != nil || !strings.Contains(te.out.String(), "retry of a canceled") {
		t.Errorf("canceled: %v %q", err, te.out)
	}
}
