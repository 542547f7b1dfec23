// Command left4me is the operator's tool for the Left 4 Dead 2 servers of
// this host: it validates and renders specs, creates and edits them, and
// drives the l4d2@NAME.service units through systemd. See left4me --help.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/left4me/left4me/cmd/left4me/internal/commands"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// version is what `left4me --version` prints: git describe of the tree it
// was built from, linked in by the Makefile (-X main.version=...).
var version = "unknown (built without the Makefile)"

func main() {
	// An operator sees a message, never a Go stack trace, even for a bug.
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "left4me: internal error: %v (please report this)\n", r)
			os.Exit(70)
		}
	}()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := commands.OSEnv()
	env.Version = version
	err := commands.Run(ctx, env, os.Args)
	stop()
	if err != nil {
		if !fail.Silent(err) {
			fmt.Fprintf(os.Stderr, "left4me: %v\n", err)
		}
		os.Exit(fail.Code(err))
	}
}
