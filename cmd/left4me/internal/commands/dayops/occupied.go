package dayops

import (
	"context"
	"errors"
	"fmt"

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
	return fmt.Sprintf("%s has %d player(s) on it now: they are kicked", name, humans)
}
