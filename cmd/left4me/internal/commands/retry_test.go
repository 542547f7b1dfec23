package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
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
	defer time.AfterFunc(100*time.Millisecond, cancel).Stop()
	t.Setenv("LEFT4ME_RETRY_BASE", "1h")
	te.out.Reset()
	if err := Run(ctx, te.Env, []string{"left4me", "retry", "a"}); err != nil || !strings.Contains(te.out.String(), "retry of a canceled") {
		t.Errorf("canceled: %v %q", err, te.out)
	}
}

// A server that failed while it was being stopped as asked (it did not
// quit within TimeoutStopSec, or quit with an error) stays stopped, and
// so does one whose start its helper refused (it queues a stop: the same
// refusal would only come back, alerted each time); one whose failed run
// saw no stop is retried, as is a crash loop. Only PID 1's "Stopping" entry of
// the failed run counts: the server itself can log any other field.
func TestNoRetryAfterAStopAsked(t *testing.T) {
	const run = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		result  string
		mainRan bool   // its server ran in that run
		stopped bool   // PID 1 logged a stop job in that run
		refused bool   // the start helper refused it for its disk ceiling
		want    string // "": retried; "stop" or "refused": not, saying why
		record  string // the stop helper's record of a run stopped as asked
	}{
		// The stop helper's record counts without the journal's entry
		// (rotated away, or journald not storing), but only for that run.
		{"timeout", true, false, false, "stop", run},
		{"exit-code", true, false, false, "stop", run},
		{"timeout", true, false, false, "", "fedcba9876543210fedcba9876543210"},
		{"start-limit-hit", true, false, false, "", run},
		{"timeout", true, true, false, "stop", ""},
		{"timeout", true, false, false, "", ""},
		{"timeout", false, true, false, "stop", ""},  // stopped while starting
		{"exit-code", true, true, false, "stop", ""}, // quit with an error when stopped
		{"signal", true, true, false, "stop", ""},
		{"oom-kill", true, true, false, "stop", ""}, // over MemoryMax on its way down
		{"oom-kill", true, false, false, "", ""},
		// The helper refused for the disk ceiling (its queued stop logs
		// no "Stopping"); other refusals may pass, and are retried.
		{"signal", false, false, true, "refused", ""},
		{"exit-code", false, false, true, "refused", ""},
		{"signal", false, false, false, "", ""},
		// An error line in a run where the server ran: not believed.
		{"exit-code", true, false, true, "", ""},
		{"exit-code", true, false, false, "", ""},
		{"start-limit-hit", false, true, true, "", ""},
	} {
		te := newEnv(t)
		te.spec(t, "a", "port: 27001\n")
		t.Setenv("LEFT4ME_RETRY_BASE", "1ms")
		te.sd.set("l4d2@a.service", "failed", "failed")
		u := te.sd.units["l4d2@a.service"]
		u.Result, u.Invocation, u.MainRan = tc.result, run, tc.mainRan
		te.sd.units["l4d2@a.service"] = u
		if tc.record != "" {
			if err := os.MkdirAll(te.Layout.RuntimeDir("a"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(te.Layout.RuntimePart("a", layout.Stopped), []byte(tc.record+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		te.Journal = func(_ context.Context, args []string, stdout, _ io.Writer) error {
			switch {
			case slices.Contains(args, "MESSAGE_ID=de5b426a63be47a7b6ac3eaac82e2f6f"):
				if tc.stopped && slices.Contains(args, "_PID=1") && slices.Contains(args, "INVOCATION_ID="+run) && slices.Contains(args, "UNIT=l4d2@a.service") {
					fmt.Fprintln(stdout, "Stopping l4d2@a.service - Left 4 Dead 2 server a...")
				}
			case slices.Contains(args, "SYSLOG_IDENTIFIER=left4me-prestart"):
				if tc.refused && slices.Contains(args, "_SYSTEMD_INVOCATION_ID="+run) && slices.Contains(args, "err") && slices.Contains(args, "over its disk ceiling") {
					fmt.Fprintln(stdout, "/var/lib/left4me/runtime/a: over its disk ceiling")
				}
			}
			return nil
		}
		n := len(te.sd.calls)
		if err := te.run("retry", "a"); err != nil {
			t.Fatal(err)
		}
		started := slices.Contains(te.sd.calls[n:], "enqueue start l4d2@a.service")
		said := map[string]string{"stop": "while it was being stopped as asked: not started again",
			"refused": "its start helper refused to start it: over its disk ceiling (left4me status a says how much it holds): not started again"}[tc.want]
		if started != (tc.want == "") || tc.want != "" && !strings.Contains(te.out.String(), said) {
			t.Errorf("%+v: started %v, said %q", tc, started, te.out)
		}
	}
}

// A retry applies an edit made during the crash loop, as left4me start
// would (the start helper refuses a spec systemd has not loaded), and
// starts nothing on a spec made invalid: it would only be refused, and
// alerted, at every retry.
func TestRetryAppliesAnEdit(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
		started          bool
	}{
		{"edited", "port: 27001\nconfig: [\"hostname new\"]\n", "reload,reset-failed l4d2@a.service,enqueue start l4d2@a.service", true},
		{"unchanged", "port: 27001\n", "reset-failed l4d2@a.service,enqueue start l4d2@a.service", true},
		{"made invalid", "port: 27001\nfoo: 1\n", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.PlanDir = t.TempDir()
			s, err := spec.Parse("a.yaml", []byte("port: 27001\n"))
			if err != nil {
				t.Fatal(err)
			}
			p := startplan.Path(te.PlanDir, "a")
			mkdirs(t, filepath.Dir(p))
			if err := os.WriteFile(p, startplan.Encode(s.StartPlan()), 0o644); err != nil {
				t.Fatal(err)
			}
			te.spec(t, "a", tc.spec)
			t.Setenv("LEFT4ME_RETRY_BASE", "1ms")
			te.sd.set("l4d2@a.service", "failed", "failed")
			u := te.sd.units["l4d2@a.service"]
			u.Result, u.Invocation, u.MainRan = "start-limit-hit", "0123456789abcdef0123456789abcdef", true
			te.sd.units["l4d2@a.service"] = u
			n := len(te.sd.calls)
			if err := te.run("retry", "a"); err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, c := range te.sd.calls[n:] {
				if c != "units" && !strings.HasPrefix(c, "unit ") {
					calls = append(calls, c)
				}
			}
			if got := strings.Join(calls, ","); got != tc.want {
				t.Errorf("calls %q, want %q", got, tc.want)
			}
			if !tc.started && !strings.Contains(te.out.String(), "its spec is invalid now: not started again; fix it (left4me validate a), then left4me start a") {
				t.Errorf("%s", te.out)
			}
		})
	}
}
