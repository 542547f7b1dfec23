package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestRun(t *testing.T) {
	cases := []struct {
		name    string
		plan    Plan
		fails   string         // instance whose job fails
		players map[string]int // humans, constant
		acted   string
		err     string
		errOut  string // said on ErrOut
	}{
		{"all at once", Plan{Op: "restart", Names: []string{"a", "b", "c"}}, "", nil, "a,b,c", "", ""},
		{"one failure, not rolling", Plan{Op: "stop", Names: []string{"a", "b", "c"}}, "b", nil, "a,b,c", "stop failed for 1 of 3", ""},
		{"rolling ends at the first failure", Plan{Op: "restart", Names: []string{"a", "b", "c"}, Rolling: true}, "b", nil, "a,b",
			"b: restart failed; the rolling restart stopped there, not restarted: c", ""},
		{"occupied until the deadline", Plan{Op: "restart", Names: []string{"c", "a", "b"}, WhenEmpty: true, Deadline: 30 * time.Millisecond}, "", map[string]int{"b": 3}, "a,c",
			"still occupied (or not answering) after 30ms, left running: b", ""},
		{"bots are no players", Plan{Op: "restart", Names: []string{"a"}, WhenEmpty: true, Deadline: time.Second}, "", map[string]int{"a": 0}, "a", "", ""},
		// A server that does not answer may have players: never empty.
		{"no answer is not empty", Plan{Op: "restart", Names: []string{"a", "mute"}, WhenEmpty: true, Deadline: 30 * time.Millisecond}, "", nil, "a",
			"left running: mute", "mute: cannot ask its server for players (no answer); it may have some, so it waits"},
		{"a stopped server is empty", Plan{Op: "stop", Names: []string{"down"}, WhenEmpty: true, Deadline: time.Hour}, "", nil, "down", "", ""},
		// A scheduled restart, or one after a game update: a stopped
		// server stays stopped.
		{"only running ones", Plan{Op: "restart", Names: []string{"a", "down"}, WhenEmpty: true, Deadline: time.Hour, OnlyRunning: true}, "", nil, "a", "", ""},
		{"deadline 0: only if empty now", Plan{Op: "restart", Names: []string{"a", "b"}, WhenEmpty: true}, "", map[string]int{"b": 3}, "a",
			"not empty now (--deadline 0), left running: b", ""},
		// leaver plays, then is stopped by someone during the wait: that
		// stop stands; a restore puts its backup back all the same.
		{"stopped meanwhile stays stopped", Plan{Op: "restart", Names: []string{"a", "leaver"}, WhenEmpty: true, Deadline: time.Hour}, "", nil, "a", "", ""},
		{"a restore acts on one stopped meanwhile", Plan{Op: "restart", Names: []string{"a", "leaver"}, WhenEmpty: true, Deadline: time.Hour, ActOnStopped: true}, "", nil, "a,leaver", "", ""},
		// --all at once: a server down at its turn stays down.
		{"at once, only running ones", Plan{Op: "restart", Names: []string{"a", "down", "c"}, OnlyRunning: true}, "", nil, "a,c", "", ""},
		{"at once, a stopped one is started", Plan{Op: "restart", Names: []string{"a", "down"}}, "", nil, "a,down", "", ""},
		// crasher plays, then crashes (systemd restarts it: down, not
		// stopped): its restart goes ahead.
		{"crashed meanwhile is restarted", Plan{Op: "restart", Names: []string{"crasher"}, WhenEmpty: true, Deadline: time.Hour}, "", nil, "crasher", "", ""},
		// A stop is never left out: stopping a down unit is harmless, and
		// ends a pending retry (a hostile server would exit just before
		// the poll to dodge it).
		{"a stop acts on one stopped meanwhile", Plan{Op: "stop", Names: []string{"leaver"}, WhenEmpty: true, Deadline: time.Hour}, "", nil, "leaver", "", ""},
		{"stop --all acts on one found down", Plan{Op: "stop", Names: []string{"a", "down"}, OnlyRunning: true}, "", nil, "a,down", "", ""},
		// sinker is occupied, and stopped just before a forced deadline.
		{"forced deadline, stopped meanwhile", Plan{Op: "restart", Names: []string{"sinker"}, WhenEmpty: true, Deadline: 20 * time.Millisecond, Force: true}, "", map[string]int{"sinker": 2}, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var acted []string
			var out, errOut strings.Builder
			polled := map[string]int{}
			d := Deps{
				Stopped: func(_ context.Context, n string) bool {
					return n == "down" || n == "sinker" || n == "leaver" && polled[n] > 1
				},
				Announce: func(context.Context, string, time.Duration) error { return nil },
				Act: func(_ context.Context, n string) error {
					acted = append(acted, n)
					if n == c.fails {
						return fmt.Errorf("%s %s: %w", c.plan.Op, n, fail.ErrJobFailed)
					}
					return nil
				},
				Humans: func(_ context.Context, n string) (int, error) {
					polled[n]++
					switch {
					case (n == "leaver" || n == "crasher") && polled[n] == 1:
						return 2, nil
					case n == "leaver" || n == "crasher":
						return 0, ErrNotRunning
					}
					switch n {
					case "mute":
						return 0, errors.New("no answer")
					case "down":
						return 0, ErrNotRunning
					}
					return c.players[n], nil
				},
				Where: func(n string) string { return "port 1" },
				Now:   time.Now, Poll: time.Millisecond, Out: &out, ErrOut: &errOut,
			}
			err := Run(context.Background(), c.plan, d)
			if strings.Join(acted, ",") != c.acted {
				t.Errorf("acted on %v, want %s", acted, c.acted)
			}
			if (c.err == "") != (err == nil) || err != nil && (!strings.Contains(err.Error(), c.err) || !errors.Is(err, fail.ErrJobFailed)) {
				t.Errorf("err %v, want %q", err, c.err)
			}
			if left := strings.Contains(c.err, "left running"); errors.Is(err, ErrLeftRunning) != left {
				t.Errorf("err %v: ErrLeftRunning %v, want %v", err, !left, left)
			}
			if c.players["b"] > 0 && !strings.Contains(out.String(), "b: 3 player(s) on port 1; waiting") {
				t.Errorf("progress %q", out.String())
			}
			if !strings.Contains(errOut.String(), c.errOut) {
				t.Errorf("errors said %q, want %q", errOut.String(), c.errOut)
			}
		})
	}
}

// With Force, the players of an occupied server are warned at each WarnAt
// before the deadline and once more just before, in that order, and then
// it goes down; a WarnAt longer than the wait becomes a warning at once
// (and is said so), never dropped.
func TestForceWarnsThenActs(t *testing.T) {
	type warning struct {
		name string
		left time.Duration
	}
	var warned []warning
	var acted []string
	var out strings.Builder
	start := time.Now()
	p := Plan{Op: "restart", Names: []string{"busy"}, WhenEmpty: true, Deadline: 600 * time.Millisecond, Force: true,
		WarnAt: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, time.Hour}}
	d := Deps{
		Act:    func(_ context.Context, n string) error { acted = append(acted, n); return nil },
		Humans: func(context.Context, string) (int, error) { return 2, nil },
		Where:  func(string) string { return "port 1" },
		Announce: func(_ context.Context, n string, left time.Duration) error {
			warned = append(warned, warning{n, left})
			return nil
		},
		Now: time.Now, Poll: time.Hour, Out: &out, ErrOut: io.Discard,
	}
	if err := Run(context.Background(), p, d); err != nil {
		t.Fatal(err)
	}
	if len(acted) != 1 || time.Since(start) < 600*time.Millisecond {
		t.Fatalf("acted %v after %v", acted, time.Since(start))
	}
	if len(warned) != 4 {
		t.Fatalf("warnings %v", warned)
	}
	if want := "warnings 1h0m0s do not fit within the 600ms deadline: players are warned at once, then at 400ms, 200ms, 60ms"; !strings.Contains(out.String(), want) {
		t.Errorf("said %q, want %q", out.String(), want)
	}
	for i, max := range []time.Duration{600, 400, 200, 60} {
		if l := warned[i].left; l > max*time.Millisecond+50*time.Millisecond || (i > 0 && l >= warned[i-1].left) {
			t.Errorf("warning %d: %v left (want at most %dms, after the one before)", i, l, max)
		}
	}
}

func TestWarnings(t *testing.T) {
	m := time.Minute
	cases := []struct {
		deadline time.Duration
		warnAt   []time.Duration
		want     []time.Duration
	}{
		{time.Hour, []time.Duration{10 * m, 5 * m, m}, []time.Duration{10 * m, 5 * m, m, 5 * time.Second}},
		{2 * m, []time.Duration{10 * m, 5 * m, m}, []time.Duration{2 * m, m, 5 * time.Second}},
		{30 * time.Second, nil, []time.Duration{3 * time.Second}},
		{0, []time.Duration{m}, nil},
	}
	for _, c := range cases {
		if got := Warnings(c.deadline, c.warnAt); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("Warnings(%v, %v) = %v, want %v", c.deadline, c.warnAt, got, c.want)
		}
	}
}

// Interrupted (Ctrl-C) during a server's job: that job finishes with a
// context that is not canceled (a restore's stop and start stay one), no
// later server is acted on, and the error names both, as a cancel.
func TestInterrupted(t *testing.T) {
	for _, whenEmpty := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		var acted []string
		d := Deps{
			Act: func(actx context.Context, n string) error {
				acted = append(acted, n)
				if n == "b" {
					cancel()
					if actx.Err() != nil {
						t.Errorf("%s's job was canceled with the rollout", n)
					}
				}
				return nil
			},
			Humans: func(context.Context, string) (int, error) { return 0, nil },
			Where:  func(n string) string { return n },
			Now:    time.Now,
			Poll:   time.Millisecond,
			Out:    io.Discard, ErrOut: io.Discard,
		}
		p := Plan{Op: "restart", Names: []string{"a", "b", "c", "d"}, WhenEmpty: whenEmpty, Deadline: time.Minute}
		err := Run(ctx, p, d)
		var in Interrupted
		if !errors.As(err, &in) || !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("when empty %v: %v", whenEmpty, err)
		}
		if got := strings.Join(acted, ","); got != "a,b" {
			t.Errorf("when empty %v: acted %s", whenEmpty, got)
		}
		if want := "interrupted; restarted: a, b; not restarted (left as they were): c, d"; err.Error() != want {
			t.Errorf("when empty %v:\n got %s\nwant %s", whenEmpty, err, want)
		}
	}
}

// A server found empty is judged (Prepare) and then counted once more
// before its job: a player who joined while the spec was judged and
// systemd reloaded is not kicked, and the server waits on. A Prepare that
// refuses settles the server as a failed job, and nothing acts on it.
func TestPrepareThenCountAgain(t *testing.T) {
	for _, c := range []struct {
		name    string
		plan    Plan
		counts  []int // humans at each count of "a"; the last repeats
		refuse  bool  // Prepare fails
		acted   string
		out     string // in the progress
		err     string
		prepare int // Prepare calls
	}{
		{"empty twice: acts", Plan{Op: "restart", Names: []string{"a"}, WhenEmpty: true, Deadline: time.Hour}, []int{0}, false, "a", "", "", 1},
		{"joined while judged: waits, then acts once empty", Plan{Op: "restart", Names: []string{"a"}, WhenEmpty: true, Deadline: time.Hour},
			[]int{0, 2, 2, 0}, false, "a", "a: 2 player(s) joined meanwhile; waiting", "", 2},
		{"joined while judged, until the deadline: left running", Plan{Op: "restart", Names: []string{"a"}, WhenEmpty: true, Deadline: 20 * time.Millisecond},
			[]int{0, 1}, false, "", "a: 1 player(s) joined meanwhile; waiting", "left running: a", 1},
		{"refused: not acted on", Plan{Op: "restart", Names: []string{"a"}, WhenEmpty: true, Deadline: time.Hour}, []int{0}, true, "", "", "restart failed for 1 of 1", 1},
		{"at once, refused: not acted on", Plan{Op: "restart", Names: []string{"a"}}, []int{3}, true, "", "", "restart failed for 1 of 1", 1},
		{"forced, refused: not acted on", Plan{Op: "restart", Names: []string{"a"}, WhenEmpty: true, Deadline: 20 * time.Millisecond, Force: true},
			[]int{3}, true, "", "", "restart failed for 1 of 1", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var acted []string
			var out strings.Builder
			counted, prepare := 0, 0
			d := Deps{
				Announce: func(context.Context, string, time.Duration) error { return nil },
				Prepare: func(_ context.Context, n string) error {
					prepare++
					if c.refuse {
						return fmt.Errorf("%s: its spec broke: %w", n, fail.ErrJobFailed)
					}
					return nil
				},
				Act: func(_ context.Context, n string) error { acted = append(acted, n); return nil },
				Humans: func(context.Context, string) (int, error) {
					counted++
					return c.counts[min(counted, len(c.counts))-1], nil
				},
				Where: func(string) string { return "port 1" },
				Now:   time.Now, Poll: time.Millisecond, Out: &out, ErrOut: io.Discard,
			}
			err := Run(context.Background(), c.plan, d)
			if got := strings.Join(acted, ","); got != c.acted {
				t.Errorf("acted on %q, want %q", got, c.acted)
			}
			if (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
				t.Errorf("err %v, want %q", err, c.err)
			}
			if !strings.Contains(out.String(), c.out) {
				t.Errorf("progress %q, want %q in it", out.String(), c.out)
			}
			if prepare != c.prepare {
				t.Errorf("Prepare ran %d times, want %d", prepare, c.prepare)
			}
		})
	}
}

// A server Prepare refuses was never taken down: a rolling job goes on
// with the rest (only a failed job ends it), and fails at the end.
func TestRollingGoesOnPastARefusal(t *testing.T) {
	for _, c := range []struct {
		name  string
		plan  Plan
		fails string // its job fails
		acted string
		err   string
	}{
		{"at once", Plan{Op: "restart", Names: []string{"a", "b", "c"}, Rolling: true}, "", "a,c", "restart failed for 1 of 3"},
		{"when empty", Plan{Op: "restart", Names: []string{"a", "b", "c"}, Rolling: true, WhenEmpty: true, Deadline: time.Hour}, "", "a,c", "restart failed for 1 of 3"},
		{"a failed job still ends it", Plan{Op: "restart", Names: []string{"a", "b", "c"}, Rolling: true}, "a", "a",
			"a: restart failed; the rolling restart stopped there, not restarted: b, c"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var acted []string
			var errOut strings.Builder
			d := Deps{
				Prepare: func(_ context.Context, n string) error {
					if n == "b" {
						return fmt.Errorf("%s: its spec broke: %w", n, fail.ErrJobFailed)
					}
					return nil
				},
				Act: func(_ context.Context, n string) error {
					acted = append(acted, n)
					if n == c.fails {
						return fmt.Errorf("%s: %w", n, fail.ErrJobFailed)
					}
					return nil
				},
				Humans: func(context.Context, string) (int, error) { return 0, nil },
				Where:  func(string) string { return "port 1" },
				Now:    time.Now, Poll: time.Millisecond, Out: io.Discard, ErrOut: &errOut,
			}
			err := Run(context.Background(), c.plan, d)
			if got := strings.Join(acted, ","); got != c.acted {
				t.Errorf("acted on %q, want %q", got, c.acted)
			}
			if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("err %v, want %q", err, c.err)
			}
			if c.fails == "" && !strings.Contains(errOut.String(), "b: its spec broke") {
				t.Errorf("the refusal was not said: %q", errOut.String())
			}
		})
	}
}

// A forced job goes ahead at the deadline only on a server whose players
// heard a warning: one whose console could take none is left running
// (players kicked unwarned are worse than a restart missed), while one
// that answers nothing at all, likely hung, still goes down.
func TestForceNeedsAWarning(t *testing.T) {
	var acted []string
	var errOut strings.Builder
	p := Plan{Op: "restart", Names: []string{"deaf", "hung", "heard"}, WhenEmpty: true, Deadline: 100 * time.Millisecond, Force: true,
		WarnAt: []time.Duration{50 * time.Millisecond}}
	d := Deps{
		Act: func(_ context.Context, n string) error { acted = append(acted, n); return nil },
		Humans: func(_ context.Context, n string) (int, error) {
			if n == "hung" {
				return 0, errors.New("no answer")
			}
			return 2, nil
		},
		Where: func(string) string { return "port 1" },
		Announce: func(_ context.Context, n string, _ time.Duration) error {
			if n == "deaf" || n == "hung" {
				return errors.New("console: connection refused")
			}
			return nil
		},
		Now: time.Now, Poll: 10 * time.Millisecond, Out: io.Discard, ErrOut: &errOut,
	}
	err := Run(context.Background(), p, d)
	if got := strings.Join(acted, ","); got != "heard,hung" {
		t.Errorf("acted on %s, want heard,hung", got)
	}
	// A failure, not "left running" as asked: a scheduled restart fails
	// and alerts.
	if !errors.Is(err, fail.ErrJobFailed) || errors.Is(err, ErrLeftRunning) || !strings.Contains(err.Error(), "their players could not be warned (see above), so these were left running: deaf") {
		t.Errorf("err %v", err)
	}
	if !strings.Contains(errOut.String(), "deaf: deadline reached with players on it, and no warning reached them") {
		t.Errorf("said %q", errOut.String())
	}
}

// The players a server answered for are not forgotten by a count that
// got no answer, nor missed when the count just before the job finds
// them: with no warning delivered, it is left running either way.
func TestForceRemembersPlayers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts func(call int) (int, error) // the n-th count (from 1)
	}{
		{"the last count unanswered", func(call int) (int, error) {
			if call >= 3 {
				return 0, errors.New("no answer")
			}
			return 2, nil
		}},
		{"found empty, then players at the count before the job", func(call int) (int, error) {
			if call%2 == 1 {
				return 0, nil
			}
			return 2, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var acted []string
			calls := 0
			p := Plan{Op: "restart", Names: []string{"deaf"}, WhenEmpty: true, Deadline: 60 * time.Millisecond, Force: true,
				WarnAt: []time.Duration{30 * time.Millisecond}}
			d := Deps{
				Act:      func(_ context.Context, n string) error { acted = append(acted, n); return nil },
				Humans:   func(context.Context, string) (int, error) { calls++; return tc.counts(calls) },
				Where:    func(string) string { return "port 1" },
				Announce: func(context.Context, string, time.Duration) error { return errors.New("console: connection refused") },
				Now:      time.Now, Poll: 5 * time.Millisecond, Out: io.Discard, ErrOut: io.Discard,
			}
			err := Run(context.Background(), p, d)
			if len(acted) > 0 || err == nil || !strings.Contains(err.Error(), "could not be warned") {
				t.Errorf("acted on %v (players never warned), err %v", acted, err)
			}
		})
	}
}

// A failed job (or a refusal just before it) is a failure even when
// another server was then left running at the deadline: left running is
// what was asked and passes for success (a game update's policy, an
// overlay build, a scheduled restart), the failure must not pass with it.
func TestFailedNotHiddenByLeftRunning(t *testing.T) {
	for _, c := range []struct {
		name   string
		plan   Plan
		refuse bool // Prepare refuses a, else a's job fails
	}{
		{"rolling, a refused just before its restart", Plan{Op: "restart", Names: []string{"a", "b"}, Rolling: true, OnlyRunning: true}, true},
		{"not rolling, a's stop failed", Plan{Op: "stop", Names: []string{"a", "b"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := c.plan
			p.WhenEmpty, p.Deadline = true, 30*time.Millisecond
			var acted []string
			d := Deps{
				Prepare: func(_ context.Context, n string) error {
					if c.refuse && n == "a" {
						return fmt.Errorf("%s: a start would now fail: %w", n, fail.ErrJobFailed)
					}
					return nil
				},
				Act: func(_ context.Context, n string) error {
					acted = append(acted, n)
					if n == "a" {
						return fmt.Errorf("%s %s: %w", p.Op, n, fail.ErrJobFailed)
					}
					return nil
				},
				Humans: func(_ context.Context, n string) (int, error) {
					if n == "b" {
						return 2, nil
					}
					return 0, nil
				},
				Where: func(string) string { return "port 1" },
				Now:   time.Now, Poll: time.Millisecond, Out: io.Discard, ErrOut: io.Discard,
			}
			err := Run(context.Background(), p, d)
			if !errors.Is(err, fail.ErrJobFailed) || errors.Is(err, ErrLeftRunning) {
				t.Fatalf("err %v: want a failure, not left running", err)
			}
			for _, want := range []string{p.Op + " failed for 1 of 2", "left running: b"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err %q, want %q in it", err, want)
				}
			}
		})
	}
}

// With Force, a round that runs past the last warning's time (another
// server's restart took it, or slow counts) still gives the players of an
// occupied server that warning, telling the time truly, and that time
// before their server goes down: never a kick with "in 0s" said the
// same instant.
func TestForceLateRoundStillWarns(t *testing.T) {
	type warning struct {
		left time.Duration
		at   time.Time
	}
	var warned []warning
	var actedAt time.Time
	idle := 0
	p := Plan{Op: "restart", Names: []string{"busy", "idle"}, WhenEmpty: true, Deadline: 200 * time.Millisecond, Force: true,
		WarnAt: []time.Duration{100 * time.Millisecond}} // and a last one at 20ms
	d := Deps{
		Act: func(_ context.Context, n string) error {
			if n == "idle" {
				time.Sleep(300 * time.Millisecond) // past the deadline
				return nil
			}
			actedAt = time.Now()
			return nil
		},
		Humans: func(_ context.Context, n string) (int, error) {
			if n == "idle" {
				if idle++; idle > 2 { // empties once the first warnings are due
					return 0, nil
				}
				return 1, nil
			}
			return 2, nil
		},
		Where: func(string) string { return "port 1" },
		Announce: func(_ context.Context, n string, left time.Duration) error {
			if n == "busy" {
				warned = append(warned, warning{left, time.Now()})
			}
			return nil
		},
		Now: time.Now, Poll: 60 * time.Millisecond, Out: io.Discard, ErrOut: io.Discard,
	}
	if err := Run(context.Background(), p, d); err != nil {
		t.Fatal(err)
	}
	if actedAt.IsZero() || len(warned) == 0 {
		t.Fatalf("acted at %v, warnings %v", actedAt, warned)
	}
	last := warned[len(warned)-1]
	if last.left < 20*time.Millisecond || actedAt.Sub(last.at) < 20*time.Millisecond {
		t.Errorf("last warning said %v left, and the restart came %v after it: want at least 20ms", last.left, actedAt.Sub(last.at))
	}
	for _, w := range warned {
		if w.left <= 0 {
			t.Errorf("a warning said %v left", w.left)
		}
	}
}

// skewClock is the real clock plus what jumps added: a job taking minutes
// (another server's restart) is a jump, without the test waiting for it.
type skewClock struct {
	mu   sync.Mutex
	skew time.Duration
}

func (c *skewClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skew)
}

func (c *skewClock) jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skew += d
}

// With Force and several servers, another server's slow restart must not
// make a busy server's warnings lie: each is said once, in order, with
// the time truly left, and the last one comes no longer before its server
// goes down than it says (a "5s" heard minutes before the kick is none).
func TestForceSlowNeighbour(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name  string
		names []string
		slow  string // its job jumps the clock by jump
		jump  time.Duration
		empty time.Duration // slow is empty from then on (0: never)
	}{
		// idle empties between the warnings; its restart runs past the
		// 800ms and 600ms warnings' times: one warning, not two.
		{"restart mid-wait overruns two warnings", []string{"busy", "idle"}, "idle", 450 * ms, 150 * ms},
		// both stay busy; at the deadline, a's restart outlasts the
		// last warning b heard.
		{"restart at the deadline outlasts the last warning", []string{"a", "b"}, "a", 2 * time.Second, 0},
		// idle empties after the last warning; its restart, in the
		// count just before the deadline, outlasts it.
		{"restart after the last warning outlasts it", []string{"busy", "idle"}, "idle", 2 * time.Second, 920 * ms},
		{"three servers, each restart slow", []string{"a", "b", "c"}, "a", 2 * time.Second, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := &skewClock{}
			type warning struct {
				left time.Duration
				at   time.Time
			}
			var mu sync.Mutex
			warned := map[string][]warning{}
			actedAt := map[string]time.Time{}
			start := clk.Now()
			p := Plan{Op: "restart", Names: c.names, WhenEmpty: true, Deadline: time.Second, Force: true,
				WarnAt: []time.Duration{800 * ms, 600 * ms}} // and a last one at 100ms
			d := Deps{
				Act: func(_ context.Context, n string) error {
					mu.Lock()
					actedAt[n] = clk.Now()
					mu.Unlock()
					if n == c.slow || c.name == "three servers, each restart slow" {
						clk.jump(c.jump)
					}
					return nil
				},
				Humans: func(_ context.Context, n string) (int, error) {
					if n == c.slow && c.empty > 0 && clk.Now().Sub(start) >= c.empty {
						return 0, nil
					}
					return 2, nil
				},
				Where: func(string) string { return "port 1" },
				Announce: func(_ context.Context, n string, left time.Duration) error {
					mu.Lock()
					defer mu.Unlock()
					warned[n] = append(warned[n], warning{left, clk.Now()})
					return nil
				},
				Now: clk.Now, Poll: 50 * ms, Out: io.Discard, ErrOut: io.Discard,
			}
			if err := Run(context.Background(), p, d); err != nil {
				t.Fatal(err)
			}
			for _, n := range c.names {
				ws := warned[n]
				if actedAt[n].IsZero() {
					t.Fatalf("%s not restarted", n)
				}
				if n == c.slow && c.empty > 0 {
					continue // restarted empty
				}
				if len(ws) == 0 {
					t.Fatalf("%s: restarted unwarned", n)
				}
				for i, w := range ws {
					if w.left <= 0 || i > 0 && w.left >= ws[i-1].left && w.at.Sub(ws[i-1].at) < ws[i-1].left {
						t.Errorf("%s: warnings %v: each said once, in order, with time left", n, ws)
					}
				}
				last := ws[len(ws)-1]
				gap := actedAt[n].Sub(last.at)
				if gap < last.left || gap > last.left+300*ms {
					t.Errorf("%s: last warning said %v, and the restart came %v after it", n, last.left, gap)
				}
			}
		})
	}
}
