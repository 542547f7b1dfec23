package dayops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// The restore command: a backup put back as an instance's upper layer,
// safely for a running server and for a Ctrl-C at any step.

func RestoreCmd(e *Env) *cli.Command {
	restart := unitctl.UnitCmd(e.Env, "restart") // the same polite restart: its flags
	flags := append([]cli.Flag{
		&cli.BoolFlag{Name: "no-backup", Usage: "do not back up the upper layer being replaced first"},
		&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation (for scripts)"},
	}, restart.Flags...)
	return &cli.Command{
		Name:      "restore",
		Usage:     "put a backup back as an instance's upper layer (without ID: the newest not taken by a restore)",
		ArgsUsage: "NAME [ID]",
		Flags:     flags,
		Description: `Replaces runtime/NAME/upper with backup ID (see left4me backups NAME).
Without ID it is the newest backup that no earlier restore took, so the
same restore run twice restores the same backup. A running server is
stopped for it and started again, as restart does: at once, or with --when-empty once nobody plays
(--deadline, --force, --warn-at and --announce as for restart). What the
backup replaces is backed up first unless --no-backup ("before restore" in
left4me backups; restoring that ID undoes the restore). When that backup
and the one unpacked would not fit in the free space of their filesystems,
nothing is stopped or asked. Ctrl-C stops it until the backup is in place
(what it wrote goes, a server stopped for it is started again on its
files); a second Ctrl-C quits at once, saying what it leaves. Asks first on a
terminal, saying who plays; --yes for scripts, which refuses while players
are on unless --when-empty, or --force (at once, as reset: they are
kicked). Needs root.

Example:
  left4me restore srv1 --yes
  left4me restore srv1 --when-empty --deadline 30m --yes
  left4me restore srv1 --yes --force`,
		BashComplete: e.CompleteNames,
		Action: func(c *cli.Context) error {
			if c.NArg() < 1 || c.NArg() > 2 {
				return fmt.Errorf("%w: restore takes NAME and at most one backup ID; e.g. left4me restore srv1", fail.ErrUsage)
			}
			name, id := c.Args().Get(0), c.Args().Get(1)
			if id != "" && !backup.ValidID(id) {
				return fmt.Errorf("%w: %q is not a backup ID (like 20261205T190000Z; left4me backups %s lists them)", fail.ErrUsage, id, name)
			}
			// --force without --when-empty is reset's and delete's: at once,
			// players on or not (they are kicked).
			kick := c.Bool("force") && !c.Bool("when-empty")
			p := rollout.Plan{Op: "restart"}
			if kick {
				for _, f := range []string{"deadline", "warn-at", "announce"} {
					if c.IsSet(f) {
						return fmt.Errorf("%w: --%s goes with --when-empty (then --force warns the players and restores at the deadline); --force alone restores at once, kicking them", fail.ErrUsage, f)
					}
				}
			} else {
				var err error
				if p, err = unitctl.RolloutPlan(c, "restart", c.Bool("when-empty"), "with --when-empty"); err != nil {
					return err
				}
			}
			p.Names = []string{name}
			return e.restore(c.Context, p, id, restoreAsk{yes: c.Bool("yes"), kick: kick}, !c.Bool("no-backup"))
		},
	}
}

// restoreAsk is how a restore at once asks: --yes, and --force (go
// ahead while players are on).
type restoreAsk struct{ yes, kick bool }

func (e *Env) restore(ctx context.Context, p rollout.Plan, id string, ask restoreAsk, safety bool) error {
	yes := ask.yes
	name := p.Names[0]
	if _, err := e.Instance(name); err != nil {
		return err
	}
	if err := e.rootFor("restore", name); err != nil {
		return err
	}
	// The ID is fixed now: the safety backup would become the newest.
	b, err := backup.Find(BackupDir(e.Layout, name), id)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if _, err := e.Load(name); err != nil {
		return err
	}
	// What an earlier one cut short left goes first: said, and its room
	// counted free.
	if err := e.ClearRestoreLeft(name); err != nil {
		return err
	}
	// The backup taken first and the one unpacked must fit, before the
	// server is stopped for them or anyone is asked.
	unpacked, err := e.unpackedWrite(ctx, name, b)
	if err != nil {
		return err
	}
	fits := func() error {
		writes := unpacked
		if safety {
			w, err := e.SafetyBackup(ctx, "restore", name)
			if err != nil {
				return err
			}
			writes = append(w, unpacked...)
		}
		return e.CheckRoom(name, writes)
	}
	if err := fits(); err != nil {
		return err
	}
	sd, err := e.Connect(ctx)
	if err != nil {
		return err
	}
	defer sd.Close()
	u, err := sd.Unit(ctx, clienv.UnitOf(name))
	if err != nil {
		return err
	}
	// A running server is started again after the restore: a start that
	// would fail (a missing overlay, say) stops nothing, and says why
	// now, not after the wait for players.
	if u.ActiveState == "active" || u.ActiveState == "activating" || u.ActiveState == "reloading" {
		if err := e.Preflight(name); err != nil {
			return err
		}
	}
	what := fmt.Sprintf("Restore %s from backup %s: replace %s with it (a running server is stopped and started again).",
		name, b.ID, filepath.Join(e.Layout.RuntimeDir(name), layout.Upper))
	// As reset and delete: players are never kicked unasked. A script's
	// --yes waits for them only with --when-empty; a person is told who
	// plays (players who joined while nobody did and the question waited
	// take the answer back).
	who := ""
	if !p.WhenEmpty && u.ActiveState == "active" && u.SubState == "running" {
		if who = e.Occupied(ctx, sd, name); who != "" {
			// A signal while asking is no answer that it may have players:
			// said as an interrupt (main's context.Canceled), not a refusal.
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("interrupted while asking %s who plays; nothing was done: %w", name, err)
			}
			if yes && !ask.kick {
				// A refusal, not a failure: no job ran (exit 2, as an
				// unanswered question's).
				return fail.Coded(fail.ErrNotConfirmed, fmt.Errorf("%s; nothing was done: restore it once they have left, left4me restore %s %s --when-empty --deadline 30m --yes (with --force: warned, and restored at the deadline anyway), or at once with --yes --force (they are kicked)",
					who, name, b.ID))
			}
			what = who + ". " + what
		}
	}
	if p.WhenEmpty {
		err = e.Confirm(yes, what) // it waits for them anyway
	} else {
		err = e.ConfirmPlayers(ctx, sd, name, yes, who, what)
	}
	if err != nil {
		return err
	}
	// down is read under the instance's lock (putBack): a start waits
	// for it, so a server found down stays down until the restore is done.
	// Read to the end whatever a Ctrl-C: the answer decides.
	down := func() bool {
		u, err := sd.Unit(context.WithoutCancel(ctx), clienv.UnitOf(name))
		return err == nil && (u.ActiveState == "inactive" || u.ActiveState == "failed")
	}
	// put restores under ctx: a Ctrl-C stops the backup taken first or
	// the unpacking, and what they wrote goes (the upper layer as it was);
	// once the backup is in place, the restore is done. ran: the server
	// was stopped for it, and is started again after.
	put := func(ran bool) error {
		w := restoreWords{name: name, id: b.ID, runtime: e.Layout.RuntimeDir(name), backups: BackupDir(e.Layout, name), ran: ran}
		undo := ""
		// Taken under the lock, the server down: what it wrote up to
		// its last stop is in it, and nothing writes meanwhile. The
		// words a second Ctrl-C would say change with the swap.
		undoBackup := func() (o backup.RestoreOptions, err error) {
			if safety {
				e.Last.Set(w.backingUp())
				if undo, err = e.BackupBefore(ctx, "restore", name); err != nil {
					e.Last.Set(w.asWas())
					return o, err
				}
			}
			e.Last.Set(w.unpacking())
			swap := func(swap func() error) error { return e.Last.Do(w.placed(undo), swap) }
			return backup.RestoreOptions{Undo: undo, Swap: swap}, nil
		}
		err := e.putBack(ctx, name, b, down, undoBackup)
		if err == nil && undo != "" {
			fmt.Fprintf(e.Stdout, "%s: to undo the restore: left4me restore %s %s\n", name, name, undo)
		}
		return err
	}
	// cut says a restore a Ctrl-C stopped (err from put): nothing was
	// restored, and how the server was left.
	cut := func(err error, left string) error {
		if !errors.Is(err, context.Canceled) {
			return err
		}
		msg := fmt.Sprintf("interrupted: nothing was restored (backup %s was not put in place, and nothing of it was kept); %s", b.ID, left)
		if l, ferr := backup.FindLeft(e.Layout.RuntimeDir(name)); ferr != nil || l.Any() {
			msg = fmt.Sprintf("interrupted: nothing was restored (backup %s was not put in place); %s; what it unpacked could not all be removed (the next restore, reset or delete of %s tries again): %v", b.ID, left, name, err)
		}
		return fmt.Errorf("%s: %w", msg, context.Canceled)
	}
	defer e.Last.Set("")
	if u.ActiveState == "inactive" || u.ActiveState == "failed" {
		return cut(put(false), name+" stays stopped, as it was")
	}
	if err := e.ReloadIfStale(ctx, sd, p.Names); err != nil {
		return err
	}
	d := e.RolloutDeps(sd, p)
	p.ActOnStopped = true
	// A start that would fail (its spec broken since) stops nothing.
	d.Prepare = func(ctx context.Context, n string) error {
		if p.WhenEmpty {
			// The server wrote on during the wait: measured again.
			if err := fits(); err != nil {
				return err
			}
		}
		if d.Stopped(ctx, n) {
			return nil
		}
		return e.Recheck(ctx, sd, n)
	}
	// acted: the job began; said: what an interrupted one says, which
	// the rollout's own words (of a restart) would not.
	acted, said := false, error(nil)
	d.Act = func(actx context.Context, n string) error {
		acted = true
		if d.Stopped(actx, n) {
			// Stopped by someone during the wait: restored, and that
			// stop stands.
			fmt.Fprintf(e.Stdout, "%s was stopped meanwhile: it stays stopped\n", n)
			said = cut(put(false), n+" stays stopped, as it was stopped meanwhile")
			return said
		}
		// The job runs to its end (actx): a server stopped for the
		// restore is started again, whatever the restore did.
		e.Last.Set(restoreWords{name: n, id: b.ID}.stopping())
		if err := e.RunJob(actx, sd, "stop", n); err != nil {
			e.Last.Set("")
			return err
		}
		perr := put(true)
		e.Last.Set(restoreWords{name: n, id: b.ID}.starting(perr == nil))
		serr := e.RunJob(actx, sd, "start", n)
		if errors.Is(perr, context.Canceled) {
			left := n + " was started again on its files as they were"
			if serr != nil {
				left = "starting " + n + " again failed (see below): `left4me start " + n + "` tries again"
			}
			said = errors.Join(cut(perr, left), serr)
			return said
		}
		return errors.Join(perr, serr)
	}
	err = rollout.Run(ctx, p, d)
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		switch {
		case said != nil:
			return said
		case !acted:
			return fmt.Errorf("interrupted: nothing was restored; %s was left as it was: %w", name, ctx.Err())
		}
	}
	return err
}

// restoreWords are what a restore of backup id leaves at each step if a
// second Ctrl-C kills it (lastwords), and what puts it right.
type restoreWords struct {
	name, id, runtime, backups string
	ran                        bool // the server was stopped for the restore
}

func (w restoreWords) stopping() string {
	return fmt.Sprintf("%s may be stopped (its stop for the restore was under way) and nothing was restored: `left4me start %s` starts it on its files as they were", w.name, w.name)
}

// asWas is how a kill before the backup is in place leaves the server.
func (w restoreWords) asWas() string {
	if w.ran {
		return fmt.Sprintf("%s is stopped and nothing was restored: `left4me start %s` starts it on its files as they were", w.name, w.name)
	}
	return fmt.Sprintf("nothing was restored: %s's files are as they were (it stays stopped)", w.name)
}

func (w restoreWords) backingUp() string {
	return w.asWas() + fmt.Sprintf("; the unfinished backup (.*.tmp in %s) goes with its next backup", w.backups)
}

func (w restoreWords) unpacking() string {
	return w.asWas() + fmt.Sprintf("; the part of backup %s unpacked in %s/upper.restore is removed by the next left4me start, restore or reset of %s", w.id, w.runtime, w.name)
}

func (w restoreWords) placed(undo string) string {
	kept := "not backed up: --no-backup"
	if undo != "" {
		kept = "backed up as " + undo
	}
	start := fmt.Sprintf("%s stays stopped", w.name)
	if w.ran {
		start = fmt.Sprintf("%s is stopped: `left4me start %s` starts it", w.name, w.name)
	}
	return fmt.Sprintf("backup %s is restored, %s; the upper layer it replaced (%s), left in %s/upper.restore, is removed by the next left4me start, restore or reset of %s", w.id, start, kept, w.runtime, w.name)
}

func (w restoreWords) starting(restored bool) string {
	what := fmt.Sprintf("backup %s is restored", w.id)
	if !restored {
		what = "nothing was restored"
	}
	return fmt.Sprintf("%s; the start of %s was under way: `left4me status %s` says whether it runs, `left4me start %s` starts it", what, w.name, w.name, w.name)
}

// putBack unpacks b as name's upper layer, if down says the unit is down
// once the instance's lock is held: a start waits for the lock (its
// helper takes it), so a running server is never unmounted or written
// under, and one that would start waits until this is done. first runs
// under the lock before anything changes (the undo backup), and says how
// to restore. ctx ending stops first or the unpacking, leaving the upper
// layer as it was.
func (e *Env) putBack(ctx context.Context, name string, b backup.Info, down func() bool, first func() (backup.RestoreOptions, error)) error {
	d := rundir.Of(e.Layout, name)
	if err := os.MkdirAll(d.Path, 0o755); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fd, err := d.Lock(rundir.NoWait)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer unix.Close(fd)
	if !down() {
		return fmt.Errorf("%s: %w: it was started meanwhile; nothing was restored", name, fail.ErrJobFailed)
	}
	// ExecStopPost unmounted already; this also covers a mount left
	// behind (a killed stop helper, or by hand).
	if _, err := rundir.Unmount(d.Part(layout.Merged)); err != nil {
		return fmt.Errorf("%s: %w; nothing was restored", name, err)
	}
	if m, err := d.Mounted(); err != nil || m {
		return fmt.Errorf("%s: %w: %s; nothing was restored", name, fail.ErrMounted, d.Part(layout.Merged))
	}
	o, err := first()
	if err != nil {
		return err
	}
	err = backup.Restore(ctx, d.Path, b, o)
	if err != nil && !errors.Is(err, backup.ErrReplacedLeft) {
		return fmt.Errorf("%s: restore %s: %w", name, b.ID, err)
	}
	fmt.Fprintf(e.Stdout, "%s: restored backup %s into %s\n", name, b.ID, d.Part(layout.Upper))
	if err != nil { // restored all the same: the server starts on it
		fmt.Fprintf(e.Stderr, "left4me: %s: %v; the next left4me restore, reset or delete of %s removes it (left4me status %s shows it)\n", name, err, name, name)
	}
	return nil
}
