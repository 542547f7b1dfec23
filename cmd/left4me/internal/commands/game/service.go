package game

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// UpdateUnit is the update's service (units/left4me-update.service).
const UpdateUnit = "left4me-update.service"

// updateInUnit is `left4me game update --service`: the update runs as
// left4me-update.service, with that unit's settings (update.env, the
// password credential) and outside the caller's process and sandbox, so a
// restart of the web panel that asked for it does not end it. Its output
// is followed from the journal until it ends; an update already running
// (the timer's) is followed instead of starting another. Interrupted, the
// command stops the update it started, as Ctrl-C stops one run in the
// foreground; one it only follows goes on.
func (e *Env) updateInUnit(c *cli.Context) error {
	if err := e.needRoot("left4me game update --service"); err != nil {
		return err
	}
	if err := onlyService(c); err != nil {
		return err
	}
	ctx := c.Context
	sd, err := e.Connect(ctx)
	if err != nil {
		return err
	}
	defer sd.Close()
	u, err := sd.Unit(ctx, UpdateUnit)
	if err != nil {
		return err
	}
	if u.LoadState != "loaded" {
		return fmt.Errorf("%s is %s: is left4me installed (make install, the package)?", UpdateUnit, u.LoadState)
	}
	cursor := e.journalCursor(ctx)
	// Our own start is followed by its job, whose result is the run's (a
	// oneshot's start job ends with its ExecStart=): the unit itself may be
	// unloaded once inactive, its state then that of a unit never run.
	// One already running is followed by its state until it leaves it.
	running := busy(u.ActiveState)
	done := make(chan error, 1)
	if running {
		fmt.Fprintf(e.Stdout, "an update runs already (%s, since %s): following it\n", UpdateUnit, u.Since.Format("15:04:05"))
	} else {
		go func() { done <- sd.Start(ctx, UpdateUnit) }()
	}
	poll := e.UnitPoll
	if poll <= 0 {
		poll = time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	end := func(err error) error {
		_ = e.Journal(ctx, []string{"--sync"}, &bytes.Buffer{}, &bytes.Buffer{})
		e.printJournal(ctx, cursor)
		if err != nil {
			return fmt.Errorf("%w; its output is above and in journalctl -u %s", err, UpdateUnit)
		}
		return nil
	}
	// An interrupt ends only the following of someone else's update.
	unfollow := func() error {
		return fmt.Errorf("interrupted: no longer following %s, which goes on (journalctl -u %s -f follows it, systemctl stop %s stops it): %w",
			UpdateUnit, UpdateUnit, UpdateUnit, context.Canceled)
	}
	for {
		select {
		case <-ctx.Done():
			if running {
				return unfollow()
			}
			return e.stopUpdate(sd, &cursor)
		case err := <-done:
			if ctx.Err() != nil {
				return e.stopUpdate(sd, &cursor)
			}
			return end(err)
		case <-tick.C:
		}
		cursor = e.printJournal(ctx, cursor)
		if !running {
			continue
		}
		if u, err = sd.Unit(ctx, UpdateUnit); err != nil {
			if ctx.Err() != nil { // interrupted while asking
				return unfollow()
			}
			return err
		}
		if !busy(u.ActiveState) {
			if u.ActiveState == "failed" {
				return end(fmt.Errorf("%w: %s failed (%s)", fail.ErrJobFailed, UpdateUnit, u.Result))
			}
			return end(nil)
		}
	}
}

// stopUpdate ends the update after an interrupt, as Ctrl-C ends one in
// the foreground: its steamcmd is stopped and the installation stays.
func (e *Env) stopUpdate(sd clienv.Systemd, cursor *string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := sd.Stop(ctx, UpdateUnit)
	*cursor = e.printJournal(ctx, *cursor)
	if err != nil {
		return fmt.Errorf("interrupted; stopping %s: %w", UpdateUnit, err)
	}
	// Stopped as asked: its run ends failed (the update exits non-zero
	// on SIGTERM), which would leave the host "degraded" for nothing.
	if err := sd.ResetFailed(ctx, UpdateUnit); err != nil {
		fmt.Fprintf(e.Stderr, "%s stopped; could not clear its failed state: %v\n", UpdateUnit, err)
	}
	return fmt.Errorf("interrupted: %s stopped; the current installation stays: %w", UpdateUnit, context.Canceled)
}

// busy: the unit's run is under way (a oneshot is activating throughout).
func busy(state string) bool {
	return state == "activating" || state == "active" || state == "deactivating" || state == "reloading"
}

// onlyService refuses the update's own flags beside --service: the unit
// runs with its settings (update.env), which the command line cannot
// reach. A flag whose value is that environment's (the panel loads
// update.env too) is no choice of the caller's and passes; another value
// would be ignored without a word, so it is refused.
func onlyService(c *cli.Context) error {
	for _, f := range c.Command.Flags {
		name := f.Names()[0]
		if name == "service" || !c.IsSet(name) || fromEnv(c, f) {
			continue
		}
		return fmt.Errorf("%w: --%s with --service: the update runs with %s's settings (/etc/left4me/update.env and the steam-password credential); set it there", fail.ErrUsage, name, UpdateUnit)
	}
	return nil
}

// fromEnv tells whether f's value is the one its environment variable
// gives, as the unit would read it: the same text, or one value by the
// flag's own measure when it has one (durationFlag: 2h is 120m).
func fromEnv(c *cli.Context, f cli.Flag) bool {
	ev, ok := f.(interface{ GetEnvVars() []string })
	if !ok {
		return false
	}
	same := func(a, b string) bool { return a == b }
	if s, ok := f.(interface{ sameValue(a, b string) bool }); ok {
		same = s.sameValue
	}
	for _, v := range ev.GetEnvVars() {
		val, set := os.LookupEnv(v)
		if !set || val == "" {
			continue
		}
		return same(strings.TrimSpace(val), strings.TrimSpace(c.String(f.Names()[0])))
	}
	return false
}

// journalCursor is where the unit's journal ends now ("" if unknown:
// then everything it holds is shown).
func (e *Env) journalCursor(ctx context.Context) string {
	var out bytes.Buffer
	_ = e.Journal(ctx, []string{"-u", UpdateUnit, "--lines", "0", "--show-cursor", "--no-pager", "--quiet"}, &out, &bytes.Buffer{})
	_, c := splitCursor(out.String())
	return c
}

// printJournal prints the unit's lines after cursor and returns the new
// cursor (the old one if nothing came).
func (e *Env) printJournal(ctx context.Context, cursor string) string {
	args := []string{"-u", UpdateUnit, "--output", "cat", "--show-cursor", "--no-pager", "--quiet"}
	if cursor != "" {
		args = append(args, "--after-cursor", cursor)
	}
	var out bytes.Buffer
	if err := e.Journal(ctx, args, &out, &bytes.Buffer{}); err != nil && out.Len() == 0 {
		return cursor
	}
	text, c := splitCursor(out.String())
	fmt.Fprint(e.Stdout, text)
	if c == "" {
		return cursor
	}
	return c
}

// splitCursor separates journalctl's "-- cursor: C" line from the entries.
func splitCursor(out string) (text, cursor string) {
	const mark = "-- cursor: "
	i := strings.LastIndex(out, mark)
	if i < 0 || (i > 0 && out[i-1] != '\n') {
		return out, ""
	}
	return out[:i], strings.TrimSpace(out[i+len(mark):])
}
