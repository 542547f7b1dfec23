// Package unitctl starts, stops and restarts instances (politely when
// asked: when empty, with warnings), enables them at boot, retries crash
// loops and finds where a running server really listens.
package unitctl

import (
	"context"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/console"
)

// Env is what the unit commands use.
type Env struct {
	*console.Env
	// Players asks the server at addr (spec.QueryAddr) for the player
	// and bot counts of its A2S_INFO answer.
	Players   func(ctx context.Context, addr string) (players, bots int, err error)
	EmptyPoll time.Duration // how often Players is asked; 0 = every 5 s
	UnitPoll  time.Duration // how often a followed unit is read; 0 = every second
	// ServerArgv reads a running unit's main process's argv (ProcArgv):
	// where its server really listens.
	ServerArgv func(pid uint32) ([]string, error)
	// ServerUser is the uid/gid the server runs as (previews check which
	// overlay cfgs it may read); an error means the user does not exist.
	ServerUser func() (uid, gid int, err error)
	// RetryDir holds the back-off state of `left4me retry` (one file per
	// instance, readable by all: list shows when the next retry is); ""
	// is DefaultRetryDir.
	RetryDir string
	// AlertDir keeps when each alert last went out, to hold back the same
	// one again (alert.Hold; alerts.yaml repeat_after); "" holds back
	// none.
	AlertDir string
	// PlanDir is where the generator writes its start plans
	// (startplan.DefaultDir); "" leaves staleness to systemd's own flag.
	PlanDir string
	// AlertFailure alerts that an operation on name failed (kind, as in
	// package alert), unless the operator ended it; where says where to
	// read why. nil: no alerts.
	AlertFailure func(ctx context.Context, err error, kind, name, summary, where string)
}
