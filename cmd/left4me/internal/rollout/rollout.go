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
	Op    string   // "stop" or "restart" (as the CLI says it)
	Names []string // instances, in the order to act on them
	// WhenEmpty acts on each only once its server says nobody plays, for
	// at most Deadline; a Deadline of 0 asks once ("only if empty now").
	WhenEmpty bool
	Deadline  time.Duration
	Rolling   bool // end at the first failed job (the rest keep running)
	// Force acts at the deadline on servers still occupied (instead of
	// leaving them running), after warning their players: at each of
	// WarnAt before the deadline, and a last time just before it.
	Force  bool
	WarnAt []time.Duration
	// Announce is the warning's text for the CLI (its %s is the time
	// left); Deps.Announce delivers it.
	Announce string
	// OnlyRunning leaves out a server found down when its turn comes: a
	// scheduled restart, those after a game update or an overlay build
	// and --all never start a server the operator stopped.
	OnlyRunning bool
	// ActOnStopped acts (Act) on a server that was running when the wait
	// began and is found down at its turn, which is otherwise left out:
	// an operator stopped it meanwhile, and that stop stands. A restore
	// still puts its backup back, leaving the server down.
	ActOnStopped bool
}

// DefaultWarnAt are the warnings before a forced stop or restart.
func DefaultWarnAt() []time.Duration {
	return []time.Duration{10 * time.Minute, 5 * time.Minute, time.Minute}
}

// lastWarning is how long before the deadline the final warning goes (a
// tenth of the wait when that is shorter).
const lastWarning = 5 * time.Second

// Deps are the effects: the job itself and the player count.
type Deps struct {
	// Act runs the job on one instance; a job that failed for that
	// instance alone wraps fail.ErrJobFailed, any other error ends all.
	Act func(ctx context.Context, name string) error
	// Prepare, when set, judges whether a job that waited for players may
	// go ahead (a restart's spec, again), just before it; its errors are
	// Act's, except that a refusal (fail.ErrJobFailed) ends no rolling
	// job: the server was left as it was. It runs before the last player
	// count, so the seconds it may take are no window for a player to
	// join unseen.
	Prepare func(ctx context.Context, name string) error
	// Humans asks the server how many humans play. ErrNotRunning (the
	// unit is down) counts as empty; ErrReserved (a lobby's players on
	// their way) as occupied; any other error (no answer, no address) is
	// reported and the server waits like an occupied one: a server that
	// cannot be asked may have players.
	Humans func(ctx context.Context, name string) (int, error)
	// Where names the server's address in the waiting message.
	Where func(name string) string
	// Stopped reports whether the instance's unit is stopped now
	// (inactive: not failed, not restarting after a crash), as an
	// operator's stop leaves it: asked, with OnlyRunning, before acting at
	// once, and of a server found down during a wait. nil: never. A stop
	// never asks: stopping a unit that is down is harmless, and ends a
	// pending retry.
	Stopped func(ctx context.Context, name string) bool
	// Announce tells the players on a server (its console's say); left
	// is how long until it goes down. Needed with Plan.Force.
	Announce func(ctx context.Context, name string, left time.Duration) error
	Now      func() time.Time
	Poll     time.Duration // between player counts; 0 = every 5 s
	Out      io.Writer     // progress
	ErrOut   io.Writer     // failed jobs, as they happen
}

// DefaultPoll paces player counts while waiting for servers to empty.
const DefaultPoll = 5 * time.Second

// Run carries out p.
func Run(ctx context.Context, p Plan, d Deps) error {
	done := map[string]bool{}
	failed := 0
	// settle records n's job (or, untouched, its Prepare's refusal) and
	// what its error means.
	settle := func(n string, err error, untouched bool) error {
		done[n] = err == nil
		if !errors.Is(err, fail.ErrJobFailed) {
			return err
		}
		fmt.Fprintln(d.ErrOut, err)
		failed++
		// A server Prepare refused was never taken down: no sign the
		// new version is broken, so a rolling job goes on with the rest.
		if !p.Rolling || untouched {
			return nil
		}
		var rest []string
		for _, m := range p.Names {
			if _, acted := done[m]; !acted {
				rest = append(rest, m)
			}
		}
		msg := fmt.Sprintf("%s: %s failed; the rolling %s stopped there", n, p.Op, p.Op)
		if len(rest) > 0 {
			msg += ", not " + pastTense(p.Op) + ": " + strings.Join(rest, ", ")
		}
		return fmt.Errorf("%w: %s", fail.ErrJobFailed, msg)
	}
	act := func(n string) error {
		if ctx.Err() != nil {
			return interrupted(ctx, p, done)
		}
		// An interrupt waits for the job under way: a restore's stop,
		// unpack and start are one, and must not leave a server down.
		return settle(n, d.Act(context.WithoutCancel(ctx), n), false)
	}
	var err error
	if p.WhenEmpty {
		err = waitEmpty(ctx, p, d, act, settle)
	} else {
		for _, n := range p.Names {
			if p.OnlyRunning && stopped(ctx, p, d, n) {
				fmt.Fprintf(d.Out, "%s: not running; left stopped\n", n)
				continue
			}
			var v verdict
			if v, err = prepared(ctx, d, n, false, settle); err != nil {
				break
			}
			if !v.ok {
				continue
			}
			if err = act(n); err != nil {
				break
			}
		}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return interrupted(ctx, p, done)
	}
	if err != nil && failed > 0 && errors.Is(err, ErrLeftRunning) {
		// Left running was asked for and passes for success (a game
		// update's policy, an overlay build, a scheduled restart); a
		// failed job, or a refusal just before one, was not.
		return fmt.Errorf("%w: %s failed for %d of %d instance(s), see above; and %s", fail.ErrJobFailed, p.Op, failed, len(p.Names),
			strings.TrimPrefix(err.Error(), fail.ErrJobFailed.Error()+": "))
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
// human players (or is not running at all), until the deadline. Those
// still occupied then are left alone and named in the error, so a restart
// never kicks players; unless p.Force, when their players are warned
// along the way and they go down at the deadline.
func waitEmpty(ctx context.Context, p Plan, d Deps, job func(string) error, settle settleFunc) error {
	// acts counts the jobs begun, warnActs those before the last warning:
	// a warning is given again only after a job (see the deadline), so
	// that the deadline moves back at most once per server.
	acts, warnActs := 0, 0
	act := func(n string) error {
		acts++
		return job(n)
	}
	waiting := append([]string(nil), p.Names...)
	sort.Strings(waiting)
	end := d.Now().Add(p.Deadline)
	poll := d.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	// The warnings still to give, soonest first: only those that fall
	// within the wait, then the last one just before the deadline.
	var warns []time.Duration
	var final time.Duration // the last warning's time before the deadline
	if p.Force {
		warns = Warnings(p.Deadline, p.WarnAt)
		if len(warns) > 0 { // none with no wait: nobody is warned
			final = warns[len(warns)-1]
		}
		if w := p.WarnAt; len(w) > 0 && len(warns) > 0 && warns[0] == p.Deadline {
			fmt.Fprintf(d.Out, "warnings %s do not fit within the %v deadline: players are warned at once, then at %s\n",
				durations(tooLong(p.Deadline, w)), p.Deadline, durations(warns[1:]))
		}
	}
	// warned: a warning reached the server's players; playing: its last
	// count found players (an answer, not a silence).
	warned, playing := map[string]bool{}, map[string]bool{}
	// reserved: its last count found a lobby's reservation, nobody on.
	reserved := map[string]bool{}
	// unwarned: at a forced deadline, left running, their players unwarned.
	var unwarned []string
	// Every server still waiting after the first round was up then: one
	// found down later was stopped meanwhile.
rounds:
	for first := true; ; first = false {
		var still []string
		for _, n := range waiting {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			humans, err := d.Humans(ctx, n)
			reserved[n] = errors.Is(err, ErrReserved)
			if err == nil || errors.Is(err, ErrNotRunning) {
				// A count that got no answer keeps the last one: a
				// lost reply is no sign the players left.
				playing[n] = err == nil && humans > 0
			}
			switch down := errors.Is(err, ErrNotRunning); {
			case down && !first && !p.ActOnStopped && stopped(ctx, p, d, n):
				fmt.Fprintf(d.Out, "%s: stopped meanwhile; left stopped\n", n)
				continue
			case down && p.OnlyRunning && p.Op != "stop":
				fmt.Fprintf(d.Out, "%s: not running; left stopped\n", n)
				continue
			case err == nil && humans == 0, down:
				v, err := prepared(ctx, d, n, !down, settle)
				if err != nil {
					return err
				}
				if v.humans > 0 {
					playing[n] = true
				}
				if v.waits == "" {
					if v.ok {
						if err := act(n); err != nil {
							return err
						}
					}
					continue
				}
				fmt.Fprintf(d.Out, "%s: %s; waiting\n", n, v.waits)
			case errors.Is(err, ErrReserved):
				fmt.Fprintf(d.Out, "%s: %v; waiting\n", n, err)
			case err != nil:
				fmt.Fprintf(d.ErrOut, "%s: cannot ask its server for players (%v); it may have some, so it waits\n", n, err)
			default:
				fmt.Fprintf(d.Out, "%s: %d player(s) on %s; waiting\n", n, humans, d.Where(n))
			}
			still = append(still, n)
		}
		waiting = still
		if len(waiting) == 0 {
			return leftUnwarned(unwarned)
		}
		left := end.Sub(d.Now())
		if k := len(warns); k > 0 && left < warns[k-1] {
			// The round ran past the last warning's time (another
			// server's job, slow counts): the players still get that
			// warning, and its time, before their server goes down,
			// rather than "in 0s" as it does; the earlier ones, moot
			// now, are not said as well.
			left = warns[k-1]
			end = d.Now().Add(left)
			warns = warns[k-1:]
		}
		if len(warns) > 0 && left <= warns[0] {
			// Several due at once (a round ran past more than one
			// warning's time) are one: the same time left said twice
			// reads as a stutter, not as a second warning.
			for len(warns) > 0 && left <= warns[0] {
				warns = warns[1:]
			}
			warnActs = acts
			for _, n := range waiting {
				if err := d.Announce(ctx, n, left); err != nil {
					fmt.Fprintf(d.ErrOut, "%s: could not warn its players: %v\n", n, err)
				} else {
					warned[n] = true
					fmt.Fprintf(d.Out, "%s: players warned: %s in %v\n", n, p.Op, left.Round(time.Second))
				}
			}
		}
		if left <= 0 {
			if !p.Force {
				var held []string
				for _, n := range waiting {
					if reserved[n] {
						held = append(held, n)
					}
				}
				why := ""
				if len(held) > 0 {
					why = " (reserved by a lobby, nobody on yet: " + strings.Join(held, ", ") + ")"
				}
				if p.Deadline == 0 {
					return fmt.Errorf("%w: not empty now (--deadline 0), %w: %s%s", fail.ErrJobFailed, ErrLeftRunning, strings.Join(waiting, ", "), why)
				}
				return fmt.Errorf("%w: still occupied (or not answering) after %v, %w: %s%s", fail.ErrJobFailed, p.Deadline, ErrLeftRunning, strings.Join(waiting, ", "), why)
			}
			for i, n := range waiting {
				if acts > warnActs && d.Now().Sub(end) > final {
					// Another server's job since the last warning took
					// longer than that warning gave: the rest heard it
					// too long ago to take it for this. They are
					// counted again (one may have emptied) and warned
					// again, with its time; a job at least lies between
					// two such: this ends.
					waiting, warns, end = waiting[i:], []time.Duration{final}, d.Now()
					continue rounds
				}
				if !p.ActOnStopped && stopped(ctx, p, d, n) {
					fmt.Fprintf(d.Out, "%s: stopped meanwhile; left stopped\n", n)
					continue
				}
				// Players it answers for, none of whom heard a warning:
				// left running rather than kicked unwarned. One that
				// answers nothing at all (hung) goes down.
				if playing[n] && !warned[n] {
					fmt.Fprintf(d.ErrOut, "%s: deadline reached with players on it, and no warning reached them (see above): left running rather than kicked unwarned\n", n)
					unwarned = append(unwarned, n)
					continue
				}
				v, err := prepared(ctx, d, n, false, settle)
				if err != nil {
					return err
				}
				if !v.ok { // its spec judged again refused it, and said so
					continue
				}
				if reserved[n] {
					fmt.Fprintf(d.Out, "%s: deadline reached while reserved by a lobby, nobody on yet; going ahead with the %s\n", n, p.Op)
				} else {
					fmt.Fprintf(d.Out, "%s: deadline reached with players on it (or not answering); going ahead with the %s\n", n, p.Op)
				}
				if err := act(n); err != nil {
					return err
				}
			}
			return leftUnwarned(unwarned)
		}
		wait := min(poll, left+time.Millisecond)
		if len(warns) > 0 {
			wait = min(wait, left-warns[0]+time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// leftUnwarned is the end of a forced wait that left unwarned running.
func leftUnwarned(unwarned []string) error {
	if len(unwarned) == 0 {
		return nil
	}
	// Not ErrLeftRunning: that was not asked for (Force was), and a
	// scheduled restart must fail, and alert.
	return fmt.Errorf("%w: their players could not be warned (see above), so these were left running: %s", fail.ErrJobFailed, strings.Join(unwarned, ", "))
}

// settleFunc records the outcome of n's job, or of its Prepare when
// untouched (nothing was done to n), and says whether the rollout ends.
type settleFunc func(n string, err error, untouched bool) error

// verdict is what prepared found: ok, the job may go ahead; else waits
// says why n waits on ("" when it does not: its Prepare refused it), and
// humans counts who joined meanwhile.
type verdict struct {
	ok     bool
	waits  string
	humans int
}

// prepared runs d.Prepare for n, then, with recount, counts n's players
// once more. A Prepare that failed settles n as an untouched failed job
// (err is settle's).
func prepared(ctx context.Context, d Deps, n string, recount bool, settle settleFunc) (verdict, error) {
	if d.Prepare != nil {
		if perr := d.Prepare(context.WithoutCancel(ctx), n); perr != nil {
			return verdict{}, settle(n, perr, true)
		}
	}
	if !recount {
		return verdict{ok: true}, nil
	}
	switch humans, err := d.Humans(ctx, n); {
	case errors.Is(err, ErrNotRunning): // the next round says what that means
		return verdict{waits: "its server went down meanwhile"}, nil
	case errors.Is(err, ErrReserved):
		return verdict{waits: "reserved by a lobby meanwhile: its players may be on their way"}, nil
	case err != nil:
		return verdict{waits: fmt.Sprintf("cannot ask its server for players again (%v)", err)}, nil
	case humans > 0:
		return verdict{waits: fmt.Sprintf("%d player(s) joined meanwhile", humans), humans: humans}, nil
	}
	return verdict{ok: true}, nil
}

// stopped reports whether n was stopped (Deps.Stopped), for a job other
// than a stop.
func stopped(ctx context.Context, p Plan, d Deps, n string) bool {
	return p.Op != "stop" && d.Stopped != nil && d.Stopped(ctx, n)
}

// Interrupted is the error of a rollout ended by the operator (Ctrl-C,
// SIGTERM): which servers it did and which it left as they were. It is
// context.Canceled, without saying so.
type Interrupted struct {
	Msg string
	err error
}

func (e Interrupted) Error() string { return e.Msg }
func (e Interrupted) Unwrap() error { return e.err }

func interrupted(ctx context.Context, p Plan, done map[string]bool) error {
	var did, failed, rest []string
	for _, n := range p.Names {
		switch ok, acted := done[n]; {
		case ok:
			did = append(did, n)
		case acted:
			failed = append(failed, n)
		default:
			rest = append(rest, n)
		}
	}
	msg := "interrupted"
	if len(did) > 0 {
		msg += "; " + pastTense(p.Op) + ": " + strings.Join(did, ", ")
	}
	if len(failed) > 0 {
		msg += "; " + p.Op + " failed: " + strings.Join(failed, ", ")
	}
	if len(rest) > 0 {
		msg += "; not " + pastTense(p.Op) + " (left as they were): " + strings.Join(rest, ", ")
	}
	return Interrupted{Msg: msg, err: ctx.Err()}
}

// ErrLeftRunning is in the error of a wait that ended with servers still
// occupied and left alone (no Force): what was asked, not a failed job.
var ErrLeftRunning = errors.New("left running")

// ErrNotRunning is what Deps.Humans returns for a server that is down:
// nobody can be playing on it.
var ErrNotRunning = errors.New("not running")

// ErrReserved is in what Deps.Humans returns for a server a lobby
// reserved with nobody connected yet: its players are on their way, so
// it waits like an occupied one.
var ErrReserved = errors.New("reserved by a lobby")

// Warnings are the times before the deadline at which players are warned,
// soonest first: those of warnAt that fit within the wait, then a last
// one just before the deadline. When some do not fit, the first warning
// is at once (the whole deadline before it), so that players hear of it
// as early as they can.
func Warnings(deadline time.Duration, warnAt []time.Duration) []time.Duration {
	if deadline <= 0 {
		return nil
	}
	last := min(lastWarning, deadline/10)
	var warns []time.Duration
	for _, w := range warnAt {
		if w < deadline && w > last {
			warns = append(warns, w)
		}
	}
	sort.Slice(warns, func(i, j int) bool { return warns[i] > warns[j] })
	if len(tooLong(deadline, warnAt)) > 0 {
		warns = append([]time.Duration{deadline}, warns...)
	}
	return append(warns, last)
}

// tooLong are the warning times that do not fit within deadline.
func tooLong(deadline time.Duration, warnAt []time.Duration) []time.Duration {
	var out []time.Duration
	for _, w := range warnAt {
		if w >= deadline {
			out = append(out, w)
		}
	}
	return out
}

func durations(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		if d >= time.Second {
			d = d.Round(time.Second)
		}
		s[i] = d.String()
	}
	return strings.Join(s, ", ")
}

func pastTense(op string) string {
	if op == "stop" {
		return "stopped"
	}
	return op + "ed"
}
