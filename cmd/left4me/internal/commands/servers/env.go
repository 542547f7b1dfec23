// Package servers shows the instances and their servers: list, status,
// is-active, players and logs, on this host or (--host) on several.
package servers

import (
	"context"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
)

// Env is what the commands that show servers use.
type Env struct {
	*dayops.Env
	// PlayerList asks a server at addr (A2S_PLAYER).
	PlayerList func(ctx context.Context, addr string) ([]a2s.Player, error)
	// PlanDir is where the generator's output (and its start plans) is:
	// list compares them with the specs to tell which changed since.
	PlanDir string
	// SSH is the ssh program the fleet commands (--host) run; "" is
	// "ssh" from PATH.
	SSH string
}
