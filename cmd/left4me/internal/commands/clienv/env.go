// Package clienv is what every left4me command shares: the process's
// I/O, the layout, systemd and the spec directory (load, lock, reload).
// Each command package embeds its Env and adds only the fields it uses.
package clienv

import (
	"context"
	"io"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/lastwords"
	"github.com/left4me/left4me/spec/layout"
)

// Env is the part of a command's environment that all commands use.
type Env struct {
	Layout   layout.Layout
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
	Terminal bool // stdin is a terminal: a person can answer a prompt
	Color    bool // stdout is a terminal and NO_COLOR is unset
	Euid     int
	Now      func() time.Time
	// Connect reaches systemd; errors wrap fail.ErrNoSystemd or
	// fail.ErrPermission. The connection lives until Close, not until ctx
	// of a single call ends, and it bounds its own wait (a deadline on
	// ctx would close the connection when it passes).
	Connect func(ctx context.Context) (Systemd, error)
	// Journal runs journalctl with args.
	Journal func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// Last is what the process would leave if a second Ctrl-C killed it
	// now, said by main's signal watcher before it dies; nil: not said.
	Last *lastwords.Line
}
