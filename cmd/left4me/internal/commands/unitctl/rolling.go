package unitctl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
)

// WithAll adds --all to the stop or restart command: every running
// instance, one at a time. A rolling restart (typically onto a new game
// version) stops at the first instance that fails to come back, so that a
// broken build never takes down more than one server; one a start would
// refuse (its spec, say) is left out up front, running, and named.
func WithAll(e *Env, cmd *cli.Command) *cli.Command {
	op := cmd.Name
	cmd.Flags = append(cmd.Flags, &cli.BoolFlag{Name: "all", Usage: "every running instance, one at a time (instead of NAME...)"})
	cmd.ArgsUsage = "NAME... | --all"
	cmd.Description += `
  left4me ` + op + ` --all --when-empty --deadline 6h

With --all, every running instance is ` + pastTense(op) + ` in turn, each only
once its job is done` + map[bool]string{true: `; the first restart that fails ends it,
leaving the rest on the version they run. One whose start would be refused
(an invalid spec) is left out and keeps running; it is named at the end,
which exits non-zero`, false: ` (and every failed one: that ends
a retry it has pending)`}[op == "restart"] + `.`
	action := cmd.Action
	cmd.Action = func(c *cli.Context) error {
		// restart --scheduled is one instance's, by its spec: that action
		// refuses --all, which would otherwise restart every server here.
		if !c.Bool("all") || c.Bool("scheduled") {
			return action(c)
		}
		if c.Args().Present() {
			return fmt.Errorf("%w: --all takes no instance names, got %q", fail.ErrUsage, c.Args().Slice())
		}
		p, err := RolloutPlan(c, op, c.Bool("when-empty"), "with --when-empty")
		if err != nil {
			return err
		}
		return e.allOp(c.Context, p)
	}
	return cmd
}

// allOp runs op on every running instance, one at a time, each when empty
// if whenEmpty > 0.
func (e *Env) allOp(ctx context.Context, p rollout.Plan) error {
	op := p.Op
	sd, err := e.Connect(ctx)
	if err != nil {
		return err
	}
	defer sd.Close()
	all := e.Names()
	orphan := map[string]bool{}
	if op == "stop" {
		for _, u := range e.Orphans(ctx, sd) {
			orphan[NameOfUnit(u.Name)] = true
			all = append(all, NameOfUnit(u.Name))
		}
	}
	unitNames := make([]string, len(all))
	for i, n := range all {
		unitNames[i] = clienv.UnitOf(n)
	}
	us, err := sd.Units(ctx, unitNames)
	if err != nil {
		return err
	}
	// A stop takes every unit that is not down for good: failed ones too
	// (a pending retry would start them again: the stop ends it) and
	// those (re)starting.
	active := map[string]bool{}
	for _, u := range us {
		active[u.Name] = u.ActiveState == "active" || op == "stop" && u.ActiveState != "inactive" && u.LoadState == "loaded"
	}
	var names []string
	for _, n := range all {
		if active[clienv.UnitOf(n)] {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		fmt.Fprintf(e.Stdout, "no running instances: nothing to %s\n", op)
		return nil
	}
	how := ""
	if p.WhenEmpty {
		how = fmt.Sprintf(", each once it has no players (for at most %v)", p.Deadline)
	}
	// "Every running instance": one stopped meanwhile stays stopped.
	p.Names, p.Rolling, p.OnlyRunning = names, op == "restart", true
	if op == "restart" {
		refused, err := e.RestartRolling(ctx, sd, p, func(names []string) {
			fmt.Fprintf(e.Stdout, "restarting %d running instance(s), one after the other%s: %s\n", len(names), how, strings.Join(names, ", "))
		})
		return errors.Join(err, refused)
	}
	for _, n := range names {
		if orphan[n] {
			continue // no spec to check
		}
		if _, err := e.Instance(n); err != nil {
			return err
		}
	}
	if err := e.confirmKick(ctx, sd, p, names); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "stopping %d running or failed instance(s), one after the other%s: %s\n", len(names), how, strings.Join(names, ", "))
	return errors.Join(e.Rollout(ctx, sd, p), e.unmountLeft(ctx, sd, names))
}

// RestartRolling restarts p.Names as a rolling restart of several servers
// (restart --all, a game update's policy): one whose start would be
// refused (an invalid spec, a missing overlay, a full disk, a port
// another server holds) is left out, running as it is, and named in
// refused, so that one broken spec does not keep every other server off a
// new version; the rest go as UnitOp's, and err is theirs. intro, when
// set, announces those about to be restarted.
func (e *Env) RestartRolling(ctx context.Context, sd clienv.Systemd, p rollout.Plan, intro func(names []string)) (refused, err error) {
	names, refused := e.LeaveOutRefused(ctx, sd, p.Names)
	if len(names) == 0 {
		return refused, nil
	}
	if err := e.confirmKick(ctx, sd, p, names); err != nil {
		return refused, err
	}
	if err := e.ReloadIfStale(ctx, sd, names); err != nil {
		return refused, err
	}
	if intro != nil {
		intro(names)
	}
	p.Names = names
	return refused, e.Rollout(ctx, sd, p)
}

// LeaveOutRefused judges each of names as UnitOp does before a restart
// (preflight, and the ports running servers hold) and splits them: ok may
// be restarted; refused (a *Refused, or nil) names the others and why.
// Those left out are said at once, so that an operator watching a long
// wait for players knows early.
func (e *Env) LeaveOutRefused(ctx context.Context, sd clienv.Systemd, names []string) (ok []string, refused error) {
	var r Refused
	for _, n := range names {
		err := e.Preflight(n)
		if err == nil {
			err = e.runningClash(ctx, sd, n)
		}
		if err != nil {
			r.Names = append(r.Names, n)
			r.Errs = append(r.Errs, fmt.Errorf("%s: %w", n, err))
			continue
		}
		ok = append(ok, n)
	}
	if len(r.Names) == 0 {
		return ok, nil
	}
	fmt.Fprintf(e.Stdout, "left out, a start would be refused (each keeps running as it is; why: at the end): %s\n", strings.Join(r.Names, ", "))
	return ok, &r
}

// Refused names the instances a rolling restart left out because a start
// of each would be refused, and why: its exit code is theirs (an invalid
// spec's), so that the operator sees them even though the rest moved on.
type Refused struct {
	Names []string
	Errs  []error // Errs[i] is why Names[i] was left out, naming it
}

func (r *Refused) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "not restarted, a start would be refused (each keeps running as it is): %s", strings.Join(r.Names, ", "))
	for _, err := range r.Errs {
		b.WriteString("\n")
		b.WriteString(err.Error())
	}
	return b.String()
}

func (r *Refused) Unwrap() []error { return r.Errs }
