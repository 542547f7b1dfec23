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
// broken build never takes down more than one server.
func WithAll(e *Env, cmd *cli.Command) *cli.Command {
	op := cmd.Name
	cmd.Flags = append(cmd.Flags, &cli.BoolFlag{Name: "all", Usage: "every running instance, one at a time (instead of NAME...)"})
	cmd.ArgsUsage = "NAME... | --all"
	cmd.Description += `
  left4me ` + op + ` --all --when-empty --deadline 6h

With --all, every running instance is ` + pastTense(op) + ` in turn, each only
once its job is done` + map[bool]string{true: `; the first restart that fails ends it,
leaving the rest on the version they run`, false: ` (and every failed one: that ends
a retry it has pending)`}[op == "restart"] + `.`
	action := cmd.Action
	cmd.Action = func(c *cli.Context) error {
		if !c.Bool("all") {
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
	for _, n := range names {
		if orphan[n] {
			continue // no spec to check
		}
		if op == "stop" {
			_, err = e.Instance(n)
		} else {
			err = e.preflight(n)
		}
		if err != nil {
			return err
		}
	}
	if err := e.confirmKick(ctx, sd, p, names); err != nil {
		return err
	}
	if op == "restart" {
		if err := e.ReloadIfStale(ctx, sd, names); err != nil {
			return err
		}
	}
	how := ""
	if p.WhenEmpty {
		how = fmt.Sprintf(", each once it has no players (for at most %v)", p.Deadline)
	}
	which := "running"
	if op == "stop" {
		which = "running or failed"
	}
	fmt.Fprintf(e.Stdout, "%s %d %s instance(s), one after the other%s: %s\n", opVerb(op), len(names), which, how, strings.Join(names, ", "))
	// "Every running instance": one stopped meanwhile stays stopped.
	p.Names, p.Rolling, p.OnlyRunning = names, op == "restart", true
	if op == "stop" {
		return errors.Join(e.Rollout(ctx, sd, p), e.unmountLeft(ctx, sd, names))
	}
	return e.Rollout(ctx, sd, p)
}

func opVerb(op string) string {
	if op == "stop" {
		return "stopping"
	}
	return "restarting"
}
