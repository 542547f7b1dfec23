package unitctl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
)

// Occupied says who plays on name's running server, "" when nobody does
// or it is not running. A server that cannot be asked is said so: it may
// have players.
func (e *Env) Occupied(ctx context.Context, sd clienv.Systemd, name string) string {
	d := e.RolloutDeps(sd, rollout.Plan{})
	humans, err := d.Humans(ctx, name)
	switch {
	case errors.Is(err, rollout.ErrNotRunning), errors.Is(err, fail.ErrNotRunning), err == nil && humans == 0:
		return ""
	case errors.Is(err, rollout.ErrReserved):
		return fmt.Sprintf("%s is reserved by a lobby: players on their way are turned away", name)
	case err != nil:
		return fmt.Sprintf("%s may have players: it cannot be asked (%v)", name, err)
	}
	return fmt.Sprintf("%s has %d player(s) on it now: they would be kicked", name, humans)
}

// ConfirmPlayers asks as Confirm does; shown is who played when what was
// written ("" for nobody). A person may take minutes to answer: players
// who joined meanwhile were never named, so a yes given while nobody
// played does not stand once somebody does (a --yes is no wait: the count
// just made stands). Only a server that is up now and says so (humans on
// it, or a lobby's reservation) takes it back: one still starting, or
// that cannot be asked, had nobody on when asked and gives no news.
func (e *Env) ConfirmPlayers(ctx context.Context, sd clienv.Systemd, name string, yes bool, shown, what string) error {
	if err := e.Confirm(yes, what); err != nil {
		return err
	}
	if yes || shown != "" {
		return nil
	}
	if u, err := sd.Unit(ctx, clienv.UnitOf(name)); err != nil || u.ActiveState != "active" || u.SubState != "running" {
		return nil
	}
	humans, err := e.RolloutDeps(sd, rollout.Plan{}).Humans(ctx, name)
	if err == nil && humans > 0 || errors.Is(err, rollout.ErrReserved) {
		return fmt.Errorf("%w: since the question, %s; nothing was done: run it again to be asked with them named", fail.ErrNotConfirmed, e.Occupied(ctx, sd, name))
	}
	return nil
}

// confirmKick asks a person at a terminal before an op at once would kick
// players (a script goes ahead: --when-empty is how it waits). Nothing
// is asked of a server that nobody plays on, nor without a terminal.
func (e *Env) confirmKick(ctx context.Context, sd clienv.Systemd, p rollout.Plan, names []string) error {
	if p.WhenEmpty || !e.Terminal || p.Op != "stop" && p.Op != "restart" {
		return nil
	}
	var who []string
	for _, n := range names {
		if w := e.Occupied(ctx, sd, n); w != "" {
			who = append(who, w)
		}
	}
	if len(who) == 0 {
		return nil
	}
	return e.Confirm(false, fmt.Sprintf("%s.\n%s at once anyway? (left4me %s --when-empty --deadline 30m %s waits for them)",
		strings.Join(who, ".\n"), p.Op, p.Op, strings.Join(names, " ")))
}
