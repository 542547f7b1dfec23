// Command left4me is the operator's tool for the Left 4 Dead 2 servers of
// this host: it validates and renders specs, creates and edits them, and
// drives the l4d2@NAME.service units through systemd. See left4me --help.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/commands"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/lastwords"
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
	// A lost terminal (SIGHUP: an ssh session that dropped) ends a command
	// as Ctrl-C does: its cleanup runs (steamcmd stopped, staging
	// unmounted). Writing to the dead terminal or pipe must not kill it
	// before then: SIGPIPE is taken (a handled signal is reset at exec, so
	// steamcmd and the rest still get the default).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The job under way is finished or undone (a rollout waits for
	// systemd's job, a restore stops and puts the server back on its
	// files): said, and a second signal ends the command at once, saying
	// what it leaves (last). Only a signal cancels ctx, so ctx.Err() below
	// means interrupted.
	done, watched := make(chan struct{}), make(chan struct{})
	last := &lastwords.Line{}
	go func() {
		defer close(watched)
		watchSignals(sigs, done, func() { signal.Stop(sigs) }, cancel, os.Stderr, last, die, sameInterrupt)
	}()
	env := commands.OSEnv()
	env.Version = version
	env.Last = last
	err := commands.Run(ctx, env, commands.Args(os.Args))
	// The watcher settles before the exit (a signal that came meanwhile is
	// said whole, and ctx tells of it); from here a signal takes its
	// default action, as before the command ran.
	close(done)
	<-watched
	signal.Stop(sigs)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		msg, code := fail.Interrupted(err)
		fmt.Fprintf(os.Stderr, "left4me: %s\n", msg)
		os.Exit(code)
	}
	if err != nil {
		if !fail.Silent(err) {
			fmt.Fprintf(os.Stderr, "left4me: %v\n", err)
		}
		os.Exit(fail.Code(err))
	}
}

// die ends the process by sig as its default action would (the shell
// sees a death by SIGINT, and a script stops there), its handling given
// back (release) before: or, should sig have been ignored when left4me
// began (nohup), by the interrupted exit code.
func die(sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok {
		_ = syscall.Kill(os.Getpid(), s)
		time.Sleep(100 * time.Millisecond)
	}
	os.Exit(fail.CodeInterrupted)
}
