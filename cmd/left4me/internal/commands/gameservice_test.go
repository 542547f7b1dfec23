package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/syncbuf"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/game"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// game update --service runs the update as its unit and follows it: the
// unit's journal lines since the command began, its result as the
// command's; an update already running is followed, not started twice;
// an interrupt stops it; the update's own flags are the unit's.
func TestGameUpdateService(t *testing.T) {
	const unit = game.UpdateUnit
	for _, tc := range []struct {
		name    string
		running bool // already running when asked
		fails   bool // its run fails
		cancel  bool // interrupted while it runs
		args    []string
		env     map[string]string
		want    string // in stdout
		wantErr string
		started bool // a start job of ours
	}{
		{name: "runs and succeeds", want: "steamcmd: 100%\nupdated to build 2\n", started: true},
		{name: "fails", fails: true, want: "steamcmd: 100%", wantErr: "start " + unit + ": job failed; its output is above", started: true},
		{name: "one already running is followed", running: true, want: "an update runs already (" + unit + ", since 12:00:00): following it\nsteamcmd: 100%\nupdated to build 2\n"},
		{name: "one already running that fails", running: true, fails: true, wantErr: unit + " failed (exit-code)"},
		{name: "interrupted: stopped", cancel: true, wantErr: "interrupted: " + unit + " stopped", started: true},
		{name: "interrupted while following another's: it goes on", running: true, cancel: true, wantErr: "interrupted: no longer following " + unit + ", which goes on"},
		{name: "its flags are the unit's", args: []string{"--login", "someone"}, wantErr: "--login with --service"},
		{name: "a flag from update.env passes", env: map[string]string{"LEFT4ME_UPDATE_RESTART": "when-empty"}, want: "updated to build 2", started: true},
		{name: "the same value as update.env passes", env: map[string]string{"LEFT4ME_UPDATE_DEADLINE": "2h"}, args: []string{"--restart-deadline", "120m"}, want: "updated to build 2", started: true},
		// The unit's run judges it (and alerts): not refused here.
		{name: "a bad value in update.env passes", env: map[string]string{"LEFT4ME_UPDATE_DEADLINE": "2d"}, want: "updated to build 2", started: true},
		{name: "another duration than update.env's is refused", env: map[string]string{"LEFT4ME_UPDATE_DEADLINE": "2h"}, args: []string{"--restart-deadline", "90m"},
			wantErr: "--restart-deadline with --service"},
		{name: "a bad value typed beside update.env's is refused", env: map[string]string{"LEFT4ME_UPDATE_DEADLINE": "2d"}, args: []string{"--restart-deadline", "2days"},
			wantErr: "--restart-deadline with --service"},
		{name: "another value than update.env's is refused", env: map[string]string{"LEFT4ME_STEAMCMD": "/opt/steamcmd"}, args: []string{"--steamcmd", "/usr/games/steamcmd"},
			wantErr: "--steamcmd with --service: the update runs with left4me-update.service's settings (/etc/left4me/update.env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			te := newEnv(t)
			te.Euid = 0
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			release := make(chan struct{})
			defer close(release)
			// The unit's journal: a line of an earlier run, then this
			// run's as it runs; cursor cN is "after N lines".
			var mu sync.Mutex
			lines := []string{"from the last run"}
			add := func(l ...string) { mu.Lock(); lines = append(lines, l...); mu.Unlock() }
			te.Journal = func(_ context.Context, args []string, stdout, _ io.Writer) error {
				mu.Lock()
				defer mu.Unlock()
				if slices.Contains(args, "--lines") { // where it ends now
					fmt.Fprintf(stdout, "-- cursor: c%d\n", len(lines))
					return nil
				}
				from := 0
				if i := slices.Index(args, "--after-cursor"); i >= 0 {
					fmt.Sscanf(args[i+1], "c%d", &from)
				}
				for _, l := range lines[min(from, len(lines)):] {
					fmt.Fprintln(stdout, l)
				}
				fmt.Fprintf(stdout, "-- cursor: c%d\n", len(lines))
				return nil
			}
			u := te.sd.get(unit)
			u.Since = time.Date(2025, 11, 26, 12, 0, 0, 0, time.Local)
			if tc.running {
				u.ActiveState = "activating"
			}
			te.sd.units[unit] = u
			if tc.fails {
				te.sd.failStart[unit] = "failed"
			}
			// Our start's run (its job ends with it).
			te.sd.starting = func(string) {
				add("steamcmd: 100%")
				if tc.cancel {
					cancel()
					<-release
					return
				}
				add("updated to build 2")
			}
			if tc.cancel && !tc.running {
				// The unit's run is the update itself (its ExecStart=), on
				// a host without the 32-bit libraries; its output goes to
				// the journal, and the stop ends it as SIGTERM does.
				unitRunsUpdate(t, te, add, cancel, release)
			}
			// The timer's run, followed by its state.
			reads := 0
			te.sd.read = func(string) {
				if reads++; !tc.running || reads != 3 {
					return
				}
				if tc.cancel {
					cancel()
					return
				}
				add("steamcmd: 100%", "updated to build 2")
				u := te.sd.units[unit]
				u.ActiveState, u.Result = "inactive", "success"
				if tc.fails {
					u.ActiveState, u.Result = "failed", "exit-code"
				}
				te.sd.units[unit] = u
			}
			te.out.Reset()
			err := Run(ctx, te.Env, append([]string{"left4me", "game", "update", "--service"}, tc.args...))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("%v\n%s", err, te.out)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("%v, want %q", err, tc.wantErr)
			}
			if strings.Contains(te.out.String(), "from the last run") {
				t.Errorf("printed an earlier run's line:\n%s", te.out)
			}
			if !strings.Contains(te.out.String(), tc.want) {
				t.Errorf("stdout %q, want %q in it", te.out, tc.want)
			}
			if tc.cancel && !tc.running {
				// The update it stopped says it was interrupted, and no
				// more: the libraries did not end it (operator review).
				_, end, ok := strings.Cut(te.out.String(), "left4me: interrupted")
				if !ok || strings.Contains(end, "32-bit") || strings.Contains(end, "apt-get") {
					t.Errorf("the update's own end, want interrupted alone:\n%s", te.out)
				}
			}
			if tc.cancel { // its Start waits still, before it records its call
				if got := slices.Contains(te.sd.calls, "stop "+unit); got == tc.running {
					t.Errorf("stopped: %v, want %v (%v)", got, !tc.running, te.sd.calls)
				}
				// A stop asked for is no failure: the host is not left
				// "degraded" by it (operator review).
				if got := slices.Contains(te.sd.calls, "reset-failed "+unit); got == tc.running {
					t.Errorf("reset-failed: %v, want %v (%v)", got, !tc.running, te.sd.calls)
				}
				return
			}
			if got := slices.Contains(te.sd.calls, "start "+unit); got != tc.started {
				t.Errorf("started it: %v, want %v (%v)", got, tc.started, te.sd.calls)
			}
			if tc.fails && fail.Code(err) != fail.CodeFailure {
				t.Errorf("exit code %d", fail.Code(err))
			}
		})
	}
}

// unitRunsUpdate makes left4me-update.service's start run `left4me game
// update` as the unit does (a stand-in steamcmd, slow to download), on a
// host without the 32-bit libraries (newEnv's has none). Once steamcmd
// runs, the caller is interrupted (cancel); the unit's stop ends the
// update as SIGTERM does, and its output, with its last line as main
// prints it, goes to the journal (add).
func unitRunsUpdate(t *testing.T, te *tenv, add func(...string), cancel func(), release <-chan struct{}) {
	t.Helper()
	gameState(t, te)
	bin := steamcmdOfBuild200(t)
	depot := filepath.Join(filepath.Dir(bin), "depot")
	writeFile(t, filepath.Join(depot, "delay"), "1m\n")
	var out, stderr syncbuf.Buffer
	uctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	ran := make(chan error, 1)
	te.sd.starting = func(string) {
		unit := *te.Env
		unit.Stdout, unit.Stderr = &out, &stderr
		go func() { ran <- Run(uctx, &unit, []string{"left4me", "game", "update", "--steamcmd", bin}) }()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(filepath.Join(depot, "log")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("steamcmd did not run in 30 s:\n%s%s", &out, &stderr)
				break
			}
		}
		cancel()
		<-release
	}
	te.sd.stopped = func(string) {
		stop()
		err := <-ran
		last := "left4me: " + fmt.Sprint(err)
		if errors.Is(err, context.Canceled) {
			msg, _ := fail.Interrupted(err)
			last = "left4me: " + msg
		}
		add(strings.Split(strings.TrimSpace(stderr.String()+out.String()), "\n")...)
		add(strings.Split(last, "\n")...)
	}
}
