package unitctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/internal/relay"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/console"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec"
)

func unitUsage(op string) string {
	switch op {
	case "start":
		return "start instances and wait until systemd reports the result"
	case "stop":
		return "stop instances and wait until they are down"
	}
	return "restart instances (start them if stopped), reloading changed specs first"
}

func UnitCmd(e *Env, op string) *cli.Command {
	var flags []cli.Flag
	if op != "start" {
		flags = []cli.Flag{
			&cli.BoolFlag{Name: "when-empty", Usage: "wait until the server has no players (A2S_INFO) before acting on it"},
			&cli.DurationFlag{Name: "deadline", Value: time.Hour, Usage: "with --when-empty: give up on servers still occupied after this long"},
			&cli.BoolFlag{Name: "force", Usage: "with --when-empty: at the deadline, act on occupied servers too, after warning their players (not one with players its console does not let us warn; one that answers nothing at all, likely hung, is restarted)"},
			&cli.StringFlag{Name: "warn-at", Value: "10m,5m,1m", Usage: "with --force: warn the players this long before the deadline (`LIST`), and once more just before"},
			&cli.StringFlag{Name: "announce", Value: DefaultAnnounce, Usage: "with --force: the warning players read (`TEXT`; %s is replaced by the time left)"},
		}
	}
	if op == "restart" {
		flags = append(flags, scheduledFlag)
	}
	return &cli.Command{
		Flags:     flags,
		Name:      op,
		Usage:     unitUsage(op),
		ArgsUsage: "NAME...",
		Description: `Goes through systemd (D-Bus) like systemctl ` + op + ` l4d2@NAME.service and
waits for the job. On failure it prints the unit's result and its last
journal lines and exits non-zero. Needs root (or polkit's consent).` + map[bool]string{true: `
On a terminal, a stop or restart at once asks first when players are on,
saying who; --when-empty waits for them instead.`}[op != "start"] + `

Example:
  left4me ` + op + ` srv1 srv2`,
		BashComplete: e.CompleteNames,
		Action: func(c *cli.Context) error {
			if op == "restart" && c.Bool("scheduled") {
				return e.scheduledRestart(c)
			}
			p, err := RolloutPlan(c, op, c.Bool("when-empty"), "with --when-empty")
			if err != nil {
				return err
			}
			p.Names = c.Args().Slice()
			return e.UnitOp(c.Context, p)
		},
	}
}

// UnitOp runs op on each instance; with whenEmpty > 0 only once the
// instance has no players, waiting at most that long.
func (e *Env) UnitOp(ctx context.Context, p rollout.Plan) error {
	op, names := p.Op, p.Names
	if len(names) == 0 {
		return fmt.Errorf("%w: %s needs at least one instance name; e.g. left4me %s srv1", fail.ErrUsage, op, op)
	}
	sd, err := e.Connect(ctx)
	if err != nil {
		return err
	}
	defer sd.Close()
	for _, n := range names {
		var err error
		if op == "stop" {
			_, err = e.Instance(n) // an invalid spec must not keep a server running
			if errors.Is(err, fail.ErrUnknownInstance) && e.IsOrphan(ctx, sd, n) {
				err = nil // nor a missing one
			}
		} else if err = e.SayRestoreLeft(n); err == nil {
			if err = e.Preflight(n); err == nil {
				err = e.runningClash(ctx, sd, n)
			}
		}
		if err != nil {
			return err
		}
	}
	if err := e.confirmKick(ctx, sd, p, names); err != nil {
		return err
	}
	if op != "stop" {
		if err := e.ReloadIfStale(ctx, sd, names); err != nil {
			return err
		}
		return e.Rollout(ctx, sd, p)
	}
	return errors.Join(e.Rollout(ctx, sd, p), e.unmountLeft(ctx, sd, names))
}

// DefaultAnnounce is what players read before a forced stop or restart.
const DefaultAnnounce = "This server goes down for maintenance in %s: please finish up."

// RolloutPlan reads --when-empty, --deadline, --force, --warn-at and
// --announce (stop and restart). Each flag means one thing: one that
// would do nothing without another is refused, never ignored.
//
// whenEmpty is whether the command waits for empty servers (its flags say);
// how names the flags that make it so, for the message.
func RolloutPlan(c *cli.Context, op string, whenEmpty bool, how string) (rollout.Plan, error) {
	p := rollout.Plan{Op: op}
	if !whenEmpty {
		for _, f := range []string{"deadline", "force", "warn-at", "announce"} {
			if c.IsSet(f) {
				return p, fmt.Errorf("%w: --%s only means something %s; without it the %s is at once", fail.ErrUsage, f, how, op)
			}
		}
		return p, nil
	}
	p.WhenEmpty, p.Deadline, p.Force = true, c.Duration("deadline"), c.Bool("force")
	if p.Deadline < 0 {
		return p, fmt.Errorf("%w: --deadline %v: a wait cannot be negative", fail.ErrUsage, p.Deadline)
	}
	if p.Force && p.Deadline == 0 {
		return p, fmt.Errorf("%w: --force with --deadline 0 would %s occupied servers at once with no warning; give a deadline (e.g. --deadline 5m), or leave out --when-empty", fail.ErrUsage, op)
	}
	if !p.Force {
		for _, f := range []string{"warn-at", "announce"} {
			if c.IsSet(f) {
				return p, fmt.Errorf("%w: --%s goes with --force: without it nobody is warned, since occupied servers are left running", fail.ErrUsage, f)
			}
		}
	}
	for _, w := range strings.Split(c.String("warn-at"), ",") {
		if strings.TrimSpace(w) == "" {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(w))
		if err != nil || d <= 0 {
			return p, fmt.Errorf("%w: --warn-at %q: want durations like 10m,5m,1m", fail.ErrUsage, c.String("warn-at"))
		}
		p.WarnAt = append(p.WarnAt, d)
	}
	p.Announce = c.String("announce")
	if _, msg := relay.SayCommands(strings.ReplaceAll(p.Announce, "%s", "59m59s")); msg != "" {
		return p, fmt.Errorf("%w: --announce: %s", fail.ErrUsage, msg)
	}
	return p, nil
}

// Rollout carries out p (package rollout: one at a time, when empty,
// rolling) with systemd jobs that explain their failures.
func (e *Env) Rollout(ctx context.Context, sd clienv.Systemd, p rollout.Plan) error {
	d := e.RolloutDeps(sd, p)
	if p.WhenEmpty && p.Op != "stop" {
		// Its spec may have changed during the wait: judged again, so
		// that a start that would fail stops nothing.
		d.Prepare = func(ctx context.Context, n string) error { return e.Recheck(ctx, sd, n) }
	}
	d.Act = func(ctx context.Context, n string) error { return e.RunJob(ctx, sd, p.Op, n) }
	return rollout.Run(ctx, p, d)
}

// Recheck is UnitOp's preflight of a start of name again, just before a
// job that waited for players, and the reload an edit since needs.
func (e *Env) Recheck(ctx context.Context, sd clienv.Systemd, name string) error {
	err := e.Preflight(name)
	if err == nil {
		err = e.runningClash(ctx, sd, name)
	}
	if err != nil {
		if !errors.Is(err, fail.ErrJobFailed) {
			err = fmt.Errorf("%w: %w", fail.ErrJobFailed, err)
		}
		return fmt.Errorf("%s: a start would now fail (its spec, an overlay or the game changed while it waited), so it was left as it is: %w", name, err)
	}
	return e.ReloadIfStale(ctx, sd, []string{name})
}

// RolloutDeps are the effects of a rollout but its job (Act): the
// servers' own player counts, asked where each server really listens, and
// the warnings through their consoles.
func (e *Env) RolloutDeps(sd clienv.Systemd, p rollout.Plan) rollout.Deps {
	where := map[string]string{}
	asked := map[string]consoleCount{}
	// consoleHumans asks n's console for its humans, at most every
	// consoleEvery while it says some or cannot say (each status is in
	// its journal); a count of none is never reused, reserved or not, so
	// the count before a job is always fresh, and a reservation (at most
	// about a minute in the engine) is seen to end at once.
	consoleHumans := func(ctx context.Context, n string) (console.Count, error) {
		c, ok := asked[n]
		if !ok || e.Now().Sub(c.at) >= consoleEvery || c.err == nil && c.Humans == 0 {
			c.Count, c.err = e.Env.Humans(ctx, n, consoleWait)
			c.at = e.Now()
			asked[n] = c
		}
		return c.Count, c.err
	}
	return rollout.Deps{
		Announce: func(ctx context.Context, n string, left time.Duration) error {
			return e.Say(ctx, n, strings.ReplaceAll(p.Announce, "%s", left.Round(time.Second).String()))
		},
		Humans: func(ctx context.Context, n string) (int, error) {
			addr, err := e.RunningAddr(ctx, sd, n)
			if err != nil {
				return 0, err
			}
			where[n] = addr
			players, bots, err := e.Players(ctx, addr)
			if err == nil && players > 0 && bots == 0 {
				return players, nil
			}
			// Bots on it: A2S_INFO's players count them as Steam's
			// servers do (ReplyInfo, engine/sv_main.cpp, Source 2013:
			// GetNumClients then GetNumFakeClients), or counts humans
			// alone as the L4D branch's GetMasterServerPlayerCounts does
			// (nHumans, nBots), and a plugin can make either true. So
			// players minus bots could read 0 with someone playing: the
			// console tells. No answer at all: an empty server that
			// hibernates drops queries, so its console is asked too.
			// None at all: a lobby may have reserved it for players on
			// their way, which only its status says.
			// Its errors are text here: a console found missing must not
			// make the server count as not running, hence empty.
			c, cerr := consoleHumans(ctx, n)
			switch {
			case cerr == nil && c.Humans == 0 && c.Reserved:
				return 0, fmt.Errorf("%w: its players may be on their way", rollout.ErrReserved)
			case cerr == nil:
				return c.Humans, nil
			case err == nil: // as many humans as it could have
				return players, nil
			}
			why := cerr.Error()
			if errors.Is(cerr, fail.ErrNotRunning) {
				why = "it has none open"
			}
			return 0, fmt.Errorf("no answer on %s: %w; nor a count from its console: %s", addr, err, why)
		},
		Stopped: func(ctx context.Context, n string) bool {
			u, err := sd.Unit(ctx, clienv.UnitOf(n))
			return err == nil && u.ActiveState == "inactive"
		},
		Where: func(n string) string {
			if port, ok := strings.CutPrefix(where[n], "127.0.0.1:"); ok {
				return "port " + port
			}
			return where[n]
		},
		Now: e.Now, Poll: e.EmptyPoll, Out: e.Stdout, ErrOut: e.Stderr,
	}
}

// consoleCount is a server's player count as its console last gave it.
type consoleCount struct {
	console.Count
	err error
	at  time.Time
}

// consoleEvery paces the console's status while A2S goes unanswered;
// consoleWait is how long one status may take (a hibernating engine runs
// a frame every few milliseconds, a loading one none until it is done).
const (
	consoleEvery = 30 * time.Second
	consoleWait  = 5 * time.Second
)

// Preflight checks, before anything is stopped, what a start of name would
// check (the spec, its disk, its overlays, their cfgs, the installation),
// so that a restart (or a restore) never takes a healthy server down only
// to fail to start it.
func (e *Env) Preflight(name string) error {
	s, err := e.Load(name)
	if err != nil {
		return err
	}
	// Over its disk ceiling, its start helper would refuse it: a running
	// server is not stopped for that (the disk timer stops it anyway).
	// Only that verdict refuses: a tree the walk cannot read (not root, or
	// a server swapping a directory for a link under it) is the start
	// helper's to judge, and must not hold up every other server's
	// restart.
	if err := prestart.CheckDiskCeiling(e.Layout, name, s.Resources.DiskBytes()); errors.Is(err, prestart.ErrDiskFull) {
		return fail.Coded(fail.ErrJobFailed, fmt.Errorf("a start of %s would be refused, so nothing was done (it keeps running if it runs):\n%w", name, err))
	}
	// On a disk full for users (another server filled it) the start would
	// fail until space is freed: a running server is left alone.
	if err := prestart.CheckRoom(e.Layout, name); errors.Is(err, prestart.ErrFullForUsers) {
		return fail.Coded(fail.ErrJobFailed, fmt.Errorf("a start of %s would fail, so nothing was done (it keeps running if it runs):\n%w", name, err))
	}
	if _, _, err := e.Preview(e.PreviewConfig(false), name); err != nil {
		err = clienv.AtOverlay(e.Layout.SpecPath(name), s, err) // FILE:LINE:COL of a missing overlay
		return fail.Coded(fail.ErrJobFailed, fmt.Errorf("a start of %s would fail, so nothing was done (it keeps running if it runs):\n%w", name, err))
	}
	return nil
}

// ReloadIfStale reloads systemd when a spec changed since it last read
// them: the start helper refuses a spec newer than the unit's drop-in.
func (e *Env) ReloadIfStale(ctx context.Context, sd clienv.Systemd, names []string) error {
	for _, n := range names {
		u, err := sd.Unit(ctx, clienv.UnitOf(n))
		if err != nil {
			return err
		}
		// The start plan says for sure (systemd's own flag misses a unit
		// it loaded after the edit, and is set by every start's runtime
		// limits); without it (not root), systemd's flag.
		stale, known := e.planStale(n)
		if stale || !known && u.NeedReload {
			fmt.Fprintf(e.Stdout, "spec of %s changed since systemd last read it: reloading systemd\n", n)
			ctx, cancel := context.WithTimeout(ctx, clienv.JobTimeout)
			defer cancel()
			return sd.Reload(ctx)
		}
	}
	return nil
}

// planStale reports whether name's spec differs from the one the
// generator last made its start plan from, or has none yet: the start
// helper would refuse it. Without the plans (not root), or with a spec
// that cannot be judged, it cannot tell (known false).
func (e *Env) planStale(name string) (stale, known bool) {
	// Judged quietly: the command said its notes (an unusable
	// limits.yaml) when it loaded the spec.
	s, err := spec.Judge(e.Layout, name)
	if le := (spec.LimitsError{}); errors.As(err, &le) {
		err = nil
	}
	if err != nil || s == nil {
		return false, false
	}
	return clienv.PlanStaleKnown(e.PlanDir, name, s)
}

// RunJob runs one job and, on failure, explains it with the unit's result
// and journal.
func (e *Env) RunJob(ctx context.Context, sd clienv.Systemd, op, name string) error {
	unit := clienv.UnitOf(name)
	jctx, cancel := context.WithTimeout(ctx, clienv.JobTimeout)
	defer cancel()
	began := e.Now()
	if op != "stop" {
		if u, err := sd.Unit(ctx, unit); err == nil && u.ActiveState == "failed" {
			// Every start and restart asked for (by an operator, or a
			// rollout of a server that is not failed: those skip failed
			// ones) is a fresh one: the start limit a crash loop hit
			// would refuse it ("start request repeated too quickly").
			_ = sd.ResetFailed(ctx, unit)
		}
	}
	var err error
	switch op {
	case "start":
		err = sd.Start(jctx, unit)
	case "stop":
		err = sd.Stop(jctx, unit)
	default:
		err = sd.Restart(jctx, unit)
	}
	u, uerr := sd.Unit(ctx, unit)
	if err == nil && uerr == nil && op != "stop" && (u.ActiveState == "failed" || u.SubState == "auto-restart") {
		// Type=simple: the job is done once the server was forked; a
		// server that died at once shows up only in the unit's state.
		err = fmt.Errorf("%s %s: the server exited right after starting: %w", op, unit, fail.ErrJobFailed)
	}
	if err != nil {
		if !errors.Is(err, fail.ErrJobFailed) {
			return err
		}
		if op != "stop" {
			// The start helper refused it (and canceled the job): its
			// reason, not "job canceled", is the answer.
			if why := e.refusal(ctx, unit, name, began); why != "" {
				if strings.Contains(why, prestart.ErrFullForUsers.Error()) {
					// No refusal: systemd tries again (Restart=).
					return fmt.Errorf("%w: %s %s failed, and systemd tries again until space is freed:\n%s", fail.ErrJobFailed, op, name, why)
				}
				return fmt.Errorf("%w: %s %s was refused by its start helper:\n%s", fail.ErrJobFailed, op, name, why)
			}
		}
		why := ""
		if uerr == nil {
			why = fmt.Sprintf("; unit is %s (%s), result %s", u.ActiveState, u.SubState, u.Result)
		}
		return fmt.Errorf("%s %s failed: %w%s\nlast log lines of %s:\n%s", op, name, err, why, unit, e.Tail(ctx, unit, clienv.TailLines))
	}
	if uerr != nil {
		return uerr
	}
	if op == "stop" && u.ActiveState == "failed" {
		// Stopped as asked: a crash loop's "failed" would stay in list
		// and keep the host "degraded" (systemctl is-system-running).
		if err := sd.ResetFailed(ctx, unit); err == nil {
			if v, err := sd.Unit(ctx, unit); err == nil {
				u = v
			}
		}
	}
	fmt.Fprintf(e.Stdout, "%s: %s (%s, %s)\n", name, pastTense(op), unit, e.Paint(u.ActiveState+"/"+u.SubState, clienv.StateColor(u.ActiveState)))
	return nil
}

// refusal is what the start helper said, since began, when it refused to
// start unit (its lines in the journal), or "": also when it got the
// instance ready, so that a server that failed after it is explained by
// the unit's own lines, not by the helper's successful steps.
func (e *Env) refusal(ctx context.Context, unit, name string, began time.Time) string {
	var out, errb bytes.Buffer
	args := []string{"--unit", unit, "--identifier", "left4me-prestart", "--since", "@" + strconv.FormatInt(began.Unix(), 10),
		"--output", "cat", "--no-pager", "--quiet", "--lines", "30"}
	if e.Journal(ctx, args, &out, &errb) != nil {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == prestart.ReadyLine(name) {
			lines = nil // that run got it ready; a later one may refuse
			continue
		}
		if l != "" {
			lines = append(lines, termsafe.Line(l))
		}
	}
	return strings.Join(lines, "\n")
}

func pastTense(op string) string {
	if op == "stop" {
		return "stopped"
	}
	return op + "ed"
}
