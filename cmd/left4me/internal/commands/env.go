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
	"github.com/left4me/left4me/spec/layout"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/journal"
	"github.com/left4me/left4me/cmd/left4me/internal/state"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/startplan"
)

// Systemd is what the commands need of systemd. *control.Conn implements
// it; tests use a fake.
type Systemd interface {
	Units(ctx context.Context, names []string) ([]control.Unit, error)
	Unit(ctx context.Context, name string) (control.Unit, error)
	Loaded(ctx context.Context, pattern string) ([]control.Unit, error)
	Start(ctx context.Context, unit string) error
	Stop(ctx context.Context, unit string) error
	Restart(ctx context.Context, unit string) error
	Enqueue(ctx context.Context, unit string) error
	Reload(ctx context.Context) error
	ResetFailed(ctx context.Context, unit string) error
	Close()
}

// Env is everything a command touches outside its own memory.
type Env struct {
	Layout   layout.Layout
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
	Terminal bool // stdin is a terminal: a person can answer a prompt
	Color    bool // stdout is a terminal and NO_COLOR is unset
	Euid     int
	// Connect reaches systemd; errors wrap fail.ErrNoSystemd or
	// fail.ErrPermission. The connection lives until Close, not until ctx
	// of a single call ends.
	Connect func(ctx context.Context) (Systemd, error)
	// Journal runs journalctl with args.
	Journal func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// ServerUser is the uid/gid the server runs as (previews check which
	// overlay cfgs it may read); an error means the user does not exist.
	ServerUser func() (uid, gid int, err error)
	MountInfo  string // /proc/self/mountinfo, for the checks before removing
	Now        func() time.Time
	// Players asks the server at addr (spec.QueryAddr) how many humans
	// play on it.
	Players   func(ctx context.Context, addr string) (int, error)
	EmptyPoll time.Duration // how often Players is asked; 0 = every 5 s
	Version   string        // of this build, for --version
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
	// SSH is the ssh program the fleet commands (--host) run; "" is
	// "ssh" from PATH.
	SSH string
}

// OSEnv is the environment of the real process.
func OSEnv() *Env {
	return &Env{
		Layout:   layout.FromEnv(),
		Stdin:    os.Stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Terminal: isTerminal(os.Stdin),
		Color:    isTerminal(os.Stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb",
		Euid:     os.Geteuid(),
		Connect: func(ctx context.Context) (Systemd, error) {
			c, err := control.Connect(ctx, connectTimeout)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return c, nil
		},
		Journal: journal.Exec,
		ServerUser: func() (int, int, error) {
			c, err := prestart.ConfigFromEnv(io.Discard)
			return c.UID, c.GID, err
		},
		MountInfo:  state.MountInfo,
		Now:        time.Now,
		Players:    queryPlayers,
		PlanDir:    startplan.DefaultDir,
		ServerInfo: serverInfo,
		PlayerList: playerList,
		ServerArgv: procArgv,
	}
}

// queryPlayers counts humans: A2S_INFO's player count includes bots
// (developer.valvesoftware.com/wiki/Server_queries, "Players" and "Bots"),
// and a server with only bots is empty for a restart.
func queryPlayers(ctx context.Context, addr string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	info, err := a2s.Query(ctx, addr)
	return max(int(info.Players)-int(info.Bots), 0), err
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
