// Package rollout is the policy for acting on game servers in turn, used by
// stop and restart (with --all or names), the restarts after a game update
// and those after an overlay build: one server at a time; each at once or
// only once no human plays on it (up to a deadline, after which the
// occupied ones are left running and named); and, for a rolling restart,
// an end at the first server that fails to come back, so that a broken
// build never takes down more than one.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// Plan is what to do.
type Plan struct {
	Op        string        // "stop" or "restart" (as the CLI says it)
	Names     []string      // instances, in the order to act on them
	WhenEmpty time.Duration // > 0: act on each only once empty, for at most this long
	Rolling   bool          // end at the first failed job (the rest keep running)
}

// Deps are the effects: the job itself and the player count.
type Deps struct {
	// Act runs the job on one instance; a job that failed for that
	// instance alone wraps fail.ErrJobFailed, any other error ends all.
	Act func(ctx context.Context, name string) error
	// Humans asks the server how many humans play; an error (no answer)
	// counts as empty: nobody can be playing on a server that is down.
	Humans func(ctx context.Context, name string) (int, error)
	// Where names the server's address in the waiting message.
	Where  func(name string) string
	Now    func() time.Time
	Poll   time.Duration // between player counts; 0 = every 5 s
	Out    io.Writer     // progress
	ErrOut io.Writer     // failed jobs, as they happen
}

// DefaultPoll paces player counts while waiting for servers to empty.
const DefaultPoll = 5 * time.Second

// Run carries out p.
func Run(ctx context.Context, p Plan, d Deps) error {
	done := map[string]bool{}
	failed := 0
	act := func(n string) error {
		err := d.Act(ctx, n)
		done[n] = true
		if !errors.Is(err, fail.ErrJobFailed) {
			return err
		}
		fmt.Fprintln(d.ErrOut, err)
		failed++
		if !p.Rolling {
			return nil
		}
		var rest []string
		for _, m := range p.Names {
			if !done[m] {
				rest = append(rest, m)
			}
		}
		msg := fmt.Sprintf("%s: %s failed; the rolling %s stopped there", n, p.Op, p.Op)
		if len(rest) > 0 {
			msg += ", not " + pastTense(p.Op) + ": " + strings.Join(rest, ", ")
		}
		return fmt.Errorf("%w: %s", fail.ErrJobFailed, msg)
	}
	var err error
	if p.WhenEmpty > 0 {
		err = waitEmpty(ctx, p, d, act)
	} else {
		for _, n := range p.Names {
			if err = act(n); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%w: %s failed for %d of %d instance(s); see above", fail.ErrJobFailed, p.Op, failed, len(p.Names))
	}
	return nil
}

// waitEmpty calls act for each instance as soon as its server reports no
// human players (or does not answer at all), until the deadline. Those
// still occupied then are left alone and named in the error, so a restart
// never kicks players.
func waitEmpty(ctx context.Context, p Plan, d Deps, act func(string) error) error {
	waiting := append([]string(nil), p.Names...)
	sort.Strings(waiting)
	end := d.Now().Add(p.WhenEmpty)
	poll := d.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	for {
		var still []string
		for _, n := range waiting {
			humans, err := d.Humans(ctx, n)
			if err != nil || humans == 0 {
				if err := act(n); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(d.Out, "%s: %d player(s) on %s; waiting\n", n, humans, d.Where(n))
			still = append(still, n)
		}
		waiting = still
		if len(waiting) == 0 {
			return nil
		}
		if !d.Now().Before(end) {
			return fmt.Errorf("%w: still occupied after %v, left running: %s", fail.ErrJobFailed, p.WhenEmpty, strings.Join(waiting, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(poll, end.Sub(d.Now())+time.Millisecond)):
		}
	}
}

func pastTense(op string) string {
	if op == "stop" {
		return "stopped"
	}
	return op + "ed"
}
