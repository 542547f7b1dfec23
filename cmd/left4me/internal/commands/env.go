// Package commands wires left4me's subcommands (urfave/cli v2) to an
// injected environment, so each command runs in tests against a temp
// layout, buffers and a fake systemd.
package commands

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/spec/layout"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/servers"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/journal"
	"github.com/left4me/left4me/cmd/left4me/internal/state"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/startplan"
)

// Env is everything a command touches outside its own memory: what all
// commands share (clienv.Env) and what only some use, which App hands
// to those alone.
type Env struct {
	clienv.Env
	// ServerUser is the uid/gid the server runs as (previews check which
	// overlay cfgs it may read); an error means the user does not exist.
	ServerUser func() (uid, gid int, err error)
	MountInfo  string // /proc/self/mountinfo, for the checks before removing
	// Proc is where the host's sysctls are read (/proc): validate warns
	// of ports in the ephemeral range; "" reads none.
	Proc string
	// Players asks the server at addr (spec.QueryAddr) for the player
	// and bot counts of its A2S_INFO answer.
	Players   func(ctx context.Context, addr string) (players, bots int, err error)
	EmptyPoll time.Duration // how often Players is asked; 0 = every 5 s
	// UnitPoll is how often a unit followed to its end (game update
	// --service) is read; 0 = every second.
	UnitPoll time.Duration
	Version  string // of this build, for --version
	// ServerInfo and PlayerList ask a server at addr (A2S_INFO and
	// A2S_PLAYER).
	ServerInfo func(ctx context.Context, addr string) (a2s.Info, error)
	PlayerList func(ctx context.Context, addr string) ([]a2s.Player, error)
	// ConsoleDir holds NAME/console.sock of running servers; "" is
	// DefaultConsoleDir.
	ConsoleDir string
	// PlanDir is where the generator's output (and its start plans) is:
	// list compares them with the specs to tell which changed since.
	PlanDir string
	// ServerArgv reads a running unit's main process's argv (procArgv):
	// where its server really listens.
	ServerArgv func(pid uint32) ([]string, error)
	// RetryDir holds the back-off state of `left4me retry` (one file per
	// instance, readable by all: list shows when the next retry is); ""
	// is DefaultRetryDir.
	RetryDir string
	// AlertDir keeps when each alert last went out (alert.Hold); "" holds
	// back none.
	AlertDir string
	// SSH is the ssh program the fleet commands (--host) run; "" is
	// "ssh" from PATH.
	SSH string
	// HostRoot is where the game commands look for the host's 32-bit
	// libraries; "" is "/".
	HostRoot string
}

// OSEnv is the environment of the real process.
func OSEnv() *Env {
	return &Env{
		Env: clienv.Env{
			Layout:   layout.FromEnv(),
			Stdin:    os.Stdin,
			Stdout:   os.Stdout,
			Stderr:   os.Stderr,
			Terminal: clienv.IsTerminal(os.Stdin),
			Color:    clienv.IsTerminal(os.Stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb",
			Euid:     os.Geteuid(),
			Now:      time.Now,
			Connect: func(ctx context.Context) (clienv.Systemd, error) {
				// The connection lives until Close, not until ctx ends:
				// after Ctrl-C a command still finishes or undoes the
				// job under way (godbus closes a connection whose
				// context ends). Each call is bounded by its own ctx.
				c, err := control.Connect(context.WithoutCancel(ctx), clienv.ConnectTimeout)
				if err != nil {
					return nil, err // not a typed nil in the interface
				}
				return c, nil
			},
			Journal: journal.Exec,
		},
		ServerUser: func() (int, int, error) {
			c, err := prestart.ConfigFromEnv(io.Discard)
			return c.UID, c.GID, err
		},
		MountInfo:  state.MountInfo,
		Proc:       "/proc",
		Players:    queryPlayers,
		PlanDir:    startplan.DefaultDir,
		ServerInfo: servers.ServerInfo,
		PlayerList: servers.PlayerList,
		ServerArgv: unitctl.ProcArgv,
		AlertDir:   alert.DefaultHoldDir,
	}
}

// queryPlayers asks addr's A2S_INFO for its player and bot counts.
func queryPlayers(ctx context.Context, addr string) (players, bots int, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := a2s.Query(ctx, addr)
	return int(info.Players), int(info.Bots), err
}
