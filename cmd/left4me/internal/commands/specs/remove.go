package specs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/state"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
)

// removalCmd completes cmd, a destructive command on one instance NAME
// that asks first unless --yes, to run act.
func removalCmd(e *Env, cmd *cli.Command, act func(ctx context.Context, name string, o removal) error) *cli.Command {
	cmd.Flags = []cli.Flag{&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation (for scripts)"},
		&cli.BoolFlag{Name: "no-backup", Usage: "do not back up the upper layer first (left4me backup)"},
		&cli.BoolFlag{Name: "force", Usage: "go ahead while players are on the server (they are kicked); without it, --yes refuses then"}}
	cmd.BashComplete = e.CompleteNames
	cmd.Action = clienv.OnName(func(c *cli.Context, name string) error {
		return act(c.Context, name, removal{yes: c.Bool("yes"), backup: !c.Bool("no-backup"), force: c.Bool("force")})
	})
	return cmd
}

// removal is how to remove: --yes, not --no-backup, --force.
type removal struct{ yes, backup, force bool }

func ResetCmd(e *Env) *cli.Command {
	return removalCmd(e, &cli.Command{
		Name:      "reset",
		Usage:     "throw away an instance's runtime state (upper layer included; its crash dumps are kept)",
		ArgsUsage: "NAME",
		Description: `Stops the instance if it runs, unmounts it, empties runtime/NAME (the
upper layer: everything the server wrote, such as logs, bans, downloaded
maps) and starts it again if it was running. Two things stay: its crash
dumps (runtime/NAME/dumps, breakpad's minidumps: the evidence of its
crashes, not part of its game tree; each start still keeps the newest 5),
and the record of the ports its last start was given, which it keeps
against newer specs. The upper layer is backed up first (left4me backups
NAME) unless --no-backup; when that backup would not fit in the free space
of its filesystem, nothing is stopped. The spec, overlays and the installation are not
touched. Asks first on a terminal, saying who plays and how many crash
dumps stay; --yes for scripts, which refuses while players are on unless
--force (or first: ` + "`left4me stop NAME --when-empty`" + `). Needs root.

Example:
  left4me reset srv1 --yes`,
	}, e.reset)
}

func DeleteCmd(e *Env) *cli.Command {
	return removalCmd(e, &cli.Command{
		Name:      "delete",
		Usage:     "stop an instance and remove its runtime state (crash dumps included) and its spec",
		ArgsUsage: "NAME",
		Description: `Stops the instance, unmounts it, removes runtime/NAME (upper layer and
crash dumps in runtime/NAME/dumps included: the question and the output
say how many dumps go; copy them away first to keep them) and
instances/NAME.yaml, then reloads systemd. The upper layer is backed up
first unless --no-backup (the crash dumps are not; nothing is stopped when
the backup would not fit in the free space of its filesystem); backups outlive the
instance. Overlays and the installation are not touched. Asks first on a
terminal, saying who plays; --yes for scripts, which refuses while
players are on unless --force. It also takes what a spec removed by hand
left behind (runtime/NAME, and its server if that still runs). Needs root.

Example:
  left4me delete srv1 --yes`,
	}, e.deleteInstance)
}

// prepareRemoval runs the checks both destructive commands share, asks,
// then stops the unit and unmounts. It returns the connection and whether
// the unit was running.
func (e *Env) prepareRemoval(ctx context.Context, op, name string, o removal, what string) (clienv.Systemd, bool, error) {
	if _, err := e.Instance(name); err != nil {
		// A delete also takes what a spec removed by hand left behind:
		// its runtime state, and its server if that still runs.
		if left, _ := state.Check(e.Layout.Root, name); op != "delete" || !errors.Is(err, fail.ErrUnknownInstance) || !left {
			return nil, false, err
		}
	}
	if e.Euid != 0 {
		return nil, false, fmt.Errorf("%w: %s stops the unit, unmounts and removes root-owned files, so it needs root; run: sudo left4me %s %s", fail.ErrPermission, op, op, name)
	}
	// Refuse a tree we would not remove before anything is stopped.
	if _, err := state.Check(e.Layout.Root, name); err != nil {
		return nil, false, fmt.Errorf("%s: %w", name, err)
	}
	// What a restore cut short left goes with the rest, but said; first,
	// so the room it held counts free.
	if err := e.ClearRestoreLeft(name); err != nil {
		return nil, false, err
	}
	// And a backup that could only fail for want of space: before the
	// server is stopped for it or anyone is asked.
	if o.backup {
		writes, err := e.SafetyBackup(ctx, op, name)
		if err == nil {
			err = e.CheckRoom(name, writes)
		}
		if err != nil {
			return nil, false, err
		}
	}
	sd, err := e.Connect(ctx)
	if err != nil {
		return nil, false, err
	}
	u, err := sd.Unit(ctx, clienv.UnitOf(name))
	if err != nil {
		sd.Close()
		return nil, false, err
	}
	running := u.ActiveState == "active" || u.ActiveState == "activating" || u.ActiveState == "reloading"
	// Players are never kicked unasked: a script's --yes alone does not
	// (restart has --when-empty for that), a person is told first.
	// Only a server that is up can have players: one still starting (a
	// start under way, the relay waiting for the engine) has none yet.
	who := ""
	if u.ActiveState == "active" && u.SubState == "running" {
		if who = e.Occupied(ctx, sd, name); who != "" {
			// A signal while asking is no answer that it may have players:
			// said as an interrupt (main's context.Canceled), not a refusal.
			if err := ctx.Err(); err != nil {
				sd.Close()
				return nil, false, fmt.Errorf("interrupted while asking %s who plays; nothing was done: %w", name, err)
			}
			if o.yes && !o.force {
				sd.Close()
				hint := fmt.Sprintf("`left4me stop %s --when-empty --deadline 30m` first, or pass --force", name)
				if !strings.Contains(who, "player(s) on it now") && !strings.Contains(who, "reserved by a lobby") {
					hint = "pass --force if it is hung" // nothing to wait for
				}
				// A refusal, not a failure: no job ran (exit 2, as an
				// unanswered question's).
				return nil, false, fail.Coded(fail.ErrNotConfirmed, fmt.Errorf("%s; nothing was done: %s", who, hint))
			}
			what = who + ". " + what
		}
	}
	if err := e.ConfirmPlayers(ctx, sd, name, o.yes, who, what); err != nil {
		sd.Close()
		return nil, false, err
	}
	// From here a job runs to its end whatever a Ctrl-C (jctx): one that
	// comes before anything is removed stops the command there, the
	// server started again; once the removal began, it is finished.
	jctx := context.WithoutCancel(ctx)
	w := removalWords{op: op, name: name, runtime: e.Layout.RuntimeDir(name), backups: dayops.BackupDir(e.Layout, name), ran: running}
	if u.ActiveState != "inactive" && u.ActiveState != "failed" {
		e.Last.Set(w.stopping())
		if err := e.RunJob(jctx, sd, "stop", name); err != nil {
			e.Last.Set("")
			sd.Close()
			return nil, false, err
		}
	}
	e.Last.Set(w.asWas())
	// ExecStopPost unmounted already; this also covers a mount left by hand.
	if err := prestart.Stop(prestart.Config{Layout: e.Layout}, name); err != nil {
		sd.Close()
		return nil, false, fmt.Errorf("unmount %s: %w", name, err)
	}
	// asWas ends the command with nothing removed (err), starting a server
	// that ran again.
	asWas := func(err error) error {
		var serr error
		if running {
			serr = e.RunJob(jctx, sd, "start", name)
		}
		sd.Close()
		if ctx.Err() == nil || !errors.Is(err, context.Canceled) {
			return errors.Join(err, serr)
		}
		left := name + " stays stopped, as it was"
		switch {
		case running && serr == nil:
			left = name + " was started again"
		case running:
			left = "starting " + name + " again failed (see below): `left4me start " + name + "` tries again"
		}
		return errors.Join(fmt.Errorf("interrupted: nothing was removed; %s: %w", left, ctx.Err()), serr)
	}
	undo := ""
	if o.backup { // once stopped: nothing changes under it
		e.Last.Set(w.backingUp())
		var err error
		if undo, err = e.BackupBefore(ctx, op, name); err != nil {
			return nil, false, asWas(err)
		}
	}
	if err := ctx.Err(); err != nil { // Ctrl-C during the stop or the backup
		return nil, false, asWas(err)
	}
	e.Last.Set(w.removing(undo))
	return sd, running, nil
}

// removalWords are what a reset or delete (op) leaves at each step if a
// second Ctrl-C kills it (lastwords), and what puts it right.
type removalWords struct {
	op, name, runtime, backups string
	ran                        bool // the server ran: a reset starts it again
}

func (w removalWords) stopping() string {
	return fmt.Sprintf("%s may be stopped (its stop for the %s was under way) and nothing was removed: `left4me start %s` starts it again", w.name, w.op, w.name)
}

func (w removalWords) asWas() string {
	if w.ran {
		return fmt.Sprintf("%s is stopped and nothing was removed: `left4me start %s` starts it again", w.name, w.name)
	}
	return fmt.Sprintf("nothing was removed (%s stays stopped)", w.name)
}

func (w removalWords) backingUp() string {
	return w.asWas() + fmt.Sprintf("; the unfinished backup (.*.tmp in %s) goes with its next backup", w.backups)
}

func (w removalWords) removing(undo string) string {
	kept := "its upper layer not backed up"
	if undo != "" {
		kept = "its upper layer backed up as " + undo
	}
	then := ""
	if w.ran && w.op == "reset" {
		then = fmt.Sprintf(", then `left4me start %s` starts it", w.name)
	}
	return fmt.Sprintf("%s is stopped and %s partly removed (%s): `left4me %s %s --no-backup` finishes the %s%s", w.name, w.runtime, kept, w.op, w.name, w.op, then)
}

func (e *Env) reset(ctx context.Context, name string, o removal) error {
	dir := e.Layout.RuntimeDir(name)
	defer e.Last.Set("")
	sd, running, err := e.prepareRemoval(ctx, "reset", name, o,
		fmt.Sprintf("Reset %s: stop it if it runs, delete %s (everything the server wrote%s), start it again if it ran.", name, dir, e.dumpsNote(name, "reset")))
	if err != nil {
		return err
	}
	defer sd.Close()
	// The ports record holds what the last start was given; the dumps are
	// the evidence of crashes an operator may be resetting because of.
	err = e.removeRuntime(name, state.Keep{Name: layout.Ports}, state.Keep{Name: layout.Dumps, Dir: true})
	if running {
		// Also after a refused removal: the server was running before.
		// Begun, the reset is finished, whatever a Ctrl-C meanwhile.
		e.Last.Set(fmt.Sprintf("%s was reset; its start was under way: `left4me status %s` says whether it runs, `left4me start %s` starts it", name, name, name))
		err = errors.Join(err, e.RunJob(context.WithoutCancel(ctx), sd, "start", name))
	}
	return err
}

func (e *Env) deleteInstance(ctx context.Context, name string, o removal) error {
	path := e.Layout.SpecPath(name)
	// The spec goes last: find out now that it cannot go (a read-only
	// /etc/left4me) rather than after stopping the server and deleting
	// its data.
	if err := unix.Access(filepath.Dir(path), unix.W_OK); err != nil && e.Euid == 0 {
		if _, ierr := e.Instance(name); ierr != nil {
			return ierr
		}
		return fmt.Errorf("cannot delete %s: %s: %w; nothing was stopped or removed", name, filepath.Dir(path), err)
	}
	// Whether it had a spec is decided now: a spec created while its
	// leftovers are removed is someone's new instance, not this one's.
	_, serr := os.Lstat(path)
	hadSpec := !errors.Is(serr, fs.ErrNotExist)
	dumps := e.dumpsNote(name, "delete")
	what := fmt.Sprintf("Delete %s: stop it, delete %s (everything the server wrote%s) and %s.", name, e.Layout.RuntimeDir(name), dumps, path)
	if !hadSpec {
		what = fmt.Sprintf("Delete what %s left behind (its spec %s was removed by hand): stop its server if it still runs, delete %s (everything the server wrote%s).", name, path, e.Layout.RuntimeDir(name), dumps)
	}
	defer e.Last.Set("")
	sd, _, err := e.prepareRemoval(ctx, "delete", name, o, what)
	if err != nil {
		return err
	}
	defer sd.Close()
	// Begun, the delete is finished, whatever a Ctrl-C meanwhile: half
	// of one (a spec without its state, or unloaded) is worse.
	ctx = context.WithoutCancel(ctx)
	if err := e.removeRuntime(name); err != nil {
		return err
	}
	if !hadSpec {
		fmt.Fprintf(e.Stdout, "%s: had no spec (%s was removed by hand)\n", name, path)
		if _, err := os.Lstat(path); err == nil {
			fmt.Fprintf(e.Stdout, "%s: %s was created meanwhile: left alone\n", name, path)
		}
		_ = sd.ResetFailed(ctx, clienv.UnitOf(name))
		return nil
	}
	release, err := e.LockSpecs(ctx)
	if err != nil {
		return err
	}
	err = fsat.RemoveFile(path)
	release()
	if errors.Is(err, fs.ErrNotExist) { // removed by hand meanwhile: gone all the same
		err = nil
	}
	if err != nil {
		return fail.NeedsRoot(fmt.Errorf("remove %s: %w", path, err), "deleting "+path)
	}
	fmt.Fprintf(e.Stdout, "%s: removed %s\n", name, path)
	if err := e.Reload(ctx, sd, "the spec was removed"); err != nil {
		return err
	}
	_ = sd.ResetFailed(ctx, clienv.UnitOf(name)) // a failed state would linger in lists
	return nil
}

// dumpsNote is what the question of op (reset, delete) says of NAME's
// crash dumps: ", and its N crash dump(s) in DIR" when a delete removes
// some, that they stay on a reset. Counted before the server is stopped:
// the output after the removal gives the final count.
func (e *Env) dumpsNote(name, op string) string {
	where := filepath.Join(e.Layout.RuntimeDir(name), layout.Dumps)
	n, err := state.Dumps(e.Layout.Root, name)
	switch {
	case op == "reset" && err == nil && n > 0:
		return fmt.Sprintf("; its %d crash dump(s) in %s are kept", n, where)
	case op == "reset":
		return fmt.Sprintf("; crash dumps in %s are kept", where)
	case err != nil: // could not be counted: said all the same
		return fmt.Sprintf(", and its crash dumps in %s if any", where)
	case n > 0:
		return fmt.Sprintf(", and its %d crash dump(s) in %s", n, where)
	}
	return ""
}

// removeRuntime removes runtime/NAME, all of it but keep, and says what
// went and what stayed.
func (e *Env) removeRuntime(name string, keep ...state.Keep) error {
	dir := e.Layout.RuntimeDir(name)
	r, err := state.Remove(e.Layout.Root, name, e.MountInfo, keep...)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if !r.Existed {
		fmt.Fprintf(e.Stdout, "%s: no runtime state (%s does not exist)\n", name, dir)
		return nil
	}
	msg := "removed " + dir
	if r.KeptName(layout.Ports) {
		msg += " but its " + layout.Ports + " record"
	}
	if r.Dumps > 0 {
		where := filepath.Join(dir, layout.Dumps)
		if r.KeptName(layout.Dumps) {
			msg += fmt.Sprintf("; kept %d crash dump(s) in %s", r.Dumps, where)
		} else {
			msg += fmt.Sprintf(" and its %d crash dump(s) (%s)", r.Dumps, where)
		}
	}
	fmt.Fprintf(e.Stdout, "%s: %s\n", name, msg)
	return nil
}
