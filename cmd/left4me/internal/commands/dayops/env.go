// Package dayops is the day-2 commands: backups and restores, alerts and
// metrics.
package dayops

import (
	"context"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
)

// Env is what the day-2 commands use.
type Env struct {
	*unitctl.Env
	// ServerInfo asks a server at addr (A2S_INFO).
	ServerInfo func(ctx context.Context, addr string) (a2s.Info, error)
}
