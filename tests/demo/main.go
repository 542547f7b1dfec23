// Command demo shows left4me working end to end on a machine without the
// game: as root it boots a throw-away systemd container (the recipe of the
// end-to-end tests), installs left4me into it, runs two stand-in servers
// that share one installation under different overlay stacks, shows them
// through systemctl, A2S_INFO, their layer stacks and the journal, stops
// them and removes every mount it made, also on failure and on Ctrl-C.
//
// Run it from the repository root: make demo (or go run ./tests/demo).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/left4me/left4me/tests/container"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailed      = 1
	exitMissing     = 2
	exitInterrupted = 130
)

func main() { os.Exit(run(os.Stdout)) }

func run(w io.Writer) int {
	p := &printer{w: w, start: time.Now()}
	p.say("left4me demo: two Left 4 Dead 2 servers (stand-ins: the real game needs Steam)")
	p.say("sharing one installation, each with its own overlays, in a throw-away systemd container")
	if probs := checkHost(); len(probs) > 0 {
		p.say("")
		p.say("cannot run the demo on this host; missing:")
		for _, pr := range probs {
			p.say("  - %s\n      fix: %s", pr.What, pr.Fix)
		}
		return exitMissing
	}
	if err := checkRepo(); err != nil {
		p.say("%v", err)
		return exitMissing
	}
	// From here on a signal cancels ctx; the deferred cleanup below still
	// runs to the end (further signals stay caught until it has).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	swept, _ := container.Sweep(prefix)
	for _, s := range swept {
		if s.Err != nil {
			p.say("could not remove the leftovers of an earlier, killed demo: %s: %v", s.Path, s.Err)
			continue
		}
		p.say("removed the leftovers of an earlier, killed demo: %s", s.Path)
	}

	err, cleanErr := demo(ctx, p)
	switch {
	case cleanErr != nil:
		p.say("\nFAILED to clean up: %v", cleanErr)
		if err != nil {
			p.say("after: %v", err)
		}
		return exitFailed
	case ctx.Err() != nil: // whatever failed, failed because of the signal
		p.say("\ninterrupted")
		return exitInterrupted
	case err != nil:
		p.say("\nFAILED: %v", err)
		return exitFailed
	}
	p.say("\ndone in %.1fs", time.Since(p.start).Seconds())
	return exitOK
}

// demo runs every step; the container is closed however they end.
func demo(ctx context.Context, p *printer) (err, cleanErr error) {
	p.step("preparing a container root: a copy-on-write overlay of this host's /, on a tmpfs")
	c, err := container.New(container.Options{Prefix: prefix})
	if err != nil {
		return err, nil
	}
	defer func() {
		p.step("cleaning up: halting the container, unmounting everything")
		cleanErr = c.Close()
		if left, lerr := container.MountsUnder(c.Base(), true); len(left) > 0 || lerr != nil {
			cleanErr = errors.Join(cleanErr, fmt.Errorf("mounts left: %v %v", left, lerr))
		}
		if cleanErr == nil {
			p.say("    no container, process or mount left behind")
		}
	}()
	if err := install(ctx, p, c); err != nil {
		return err, nil
	}
	p.step("booting systemd in container %s (systemd-nspawn)", c.Name)
	t := time.Now()
	if err := c.Boot(ctx, time.Minute); err != nil {
		return err, nil
	}
	p.say("    booted in %.1fs", time.Since(t).Seconds())
	return show(ctx, p, c), nil
}

// prefix names the demo's containers, mounts and cgroups.
const prefix = "left4me-demo-"

// checkHost lists what this host lacks to run the demo.
func checkHost() []container.Problem {
	probs := container.Check(prefix, "make demo")
	if _, err := exec.LookPath("make"); err != nil {
		probs = append(probs, container.Problem{What: "make", Fix: "apt-get install make"})
	}
	return probs
}

// checkRepo makes sure we run where `make install` works.
func checkRepo() error {
	for _, f := range []string{"Makefile", "go.mod", "tests/standin"} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("run the demo from the left4me repository root (make demo): %w", err)
		}
	}
	return nil
}

// printer writes the progress lines.
type printer struct {
	w     io.Writer
	start time.Time
}

// step announces a step, with the time since the start.
func (p *printer) step(format string, args ...any) {
	fmt.Fprintf(p.w, "\n[%5.1fs] ==> %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// say prints a line of a step's result.
func (p *printer) say(format string, args ...any) {
	fmt.Fprintf(p.w, format+"\n", args...)
}

// block prints command output indented below a step.
func (p *printer) block(text string) {
	for _, l := range splitLines(text) {
		fmt.Fprintf(p.w, "    %s\n", l)
	}
}
