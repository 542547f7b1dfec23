package dayops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/progress"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/cmd/left4me/internal/state"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/units"
)

// BackupDir is backups/NAME under the state root: root's, 0700, apart
// from runtime/ which the servers write below.
func BackupDir(l layout.Layout, name string) string {
	return l.Backups(name)
}

func BackupCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "backup",
		Usage:     "copy what an instance's server wrote (its upper layer) into a backup",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "keep", Value: backup.DefaultKeep, Usage: "then keep at most `N` backups of NAME (the oldest go); default: the spec's backups.keep, else 7"},
			&cli.DurationFlag{Name: "max-age", Value: backup.DefaultMaxAge, Usage: "then remove NAME's backups older than this (0: no age limit); the newest always stays; default: the spec's backups.max_age, else 720h"},
			// left4me-backup@.service's: its stop waits for the backup.
			&cli.BoolFlag{Name: "finish", Hidden: true, Usage: "finish the backup when interrupted (a stop of the scheduled unit)"},
		},
		Description: `Copies runtime/NAME/upper (SourceMod data, logs, bans: what the server
wrote, never the game files below it) into
/var/lib/left4me/backups/NAME/ID.tar.gz (root's, mode 0600), while the
server runs or not. Every file, and each SQLite database with its journal,
is checked unchanged from before its copy to after it; when something
changed the copy starts over. Then old backups go: beyond --keep, or older
than --max-age. Ctrl-C stops it, and nothing of it is kept (a stop of
the scheduled left4me-backup@NAME.service waits for it). Needs root.

Example:
  left4me backup srv1
  left4me backup srv1 --keep 14 --max-age 720h`,
		BashComplete: e.CompleteNames,
		Action: clienv.OnName(func(c *cli.Context, name string) error {
			if c.Int("keep") < 1 {
				return fmt.Errorf("%w: --keep %d: at least the new backup stays", fail.ErrUsage, c.Int("keep"))
			}
			if c.Duration("max-age") < 0 {
				return fmt.Errorf("%w: --max-age %v: cannot be negative", fail.ErrUsage, c.Duration("max-age"))
			}
			if _, err := e.Instance(name); err != nil {
				// A spec removed (by mistake, while it ran): what its
				// server wrote is still there to be saved.
				if ok, _ := state.Check(e.Layout.Root, name); !errors.Is(err, fail.ErrUnknownInstance) || !ok {
					return err
				}
				fmt.Fprintf(e.Stdout, "%s has no spec; backing up what %s holds\n", name, e.Layout.RuntimeDir(name))
			}
			if err := e.rootFor("backup", name); err != nil {
				return err
			}
			keep, maxAge := e.Retention(name)
			if c.IsSet("keep") {
				keep = c.Int("keep")
			}
			if c.IsSet("max-age") {
				maxAge = c.Duration("max-age")
			}
			done := c.Context.Done()
			if c.Bool("finish") {
				done = nil
			}
			if _, err := e.takeBackup(done, name, "", keep, maxAge); err != nil {
				return err
			}
			return nil
		}),
	}
}

func BackupsCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "backups",
		Usage:     "list an instance's backups, oldest first",
		ArgsUsage: "NAME",
		Description: `Lists /var/lib/left4me/backups/NAME: each backup's ID (what restore
takes), when it was taken and its size. Backups outlive their instance:
after delete they stay until removed by hand. Needs root.

Example:
  left4me backups srv1`,
		BashComplete: e.CompleteNames,
		Action: clienv.OnName(func(c *cli.Context, name string) error {
			if err := layout.ValidateName(name); err != nil {
				return err
			}
			dir := BackupDir(e.Layout, name)
			all, err := backup.ListWhy(dir)
			if errors.Is(err, fs.ErrPermission) {
				return fmt.Errorf("%w: %s is root's; run: sudo left4me backups %s", fail.ErrPermission, dir, name)
			}
			if err != nil {
				return err
			}
			if len(all) == 0 {
				fmt.Fprintf(e.Stdout, "%s: no backups (in %s); left4me backup %s takes one\n", name, dir, name)
				return nil
			}
			t := table.New("ID", "TAKEN", "SIZE", "TAKEN BEFORE")
			for _, b := range all {
				before := termsafe.Line(strings.TrimPrefix(b.Why, "before "))
				if before == "" {
					before = "-"
				}
				t.Row(table.Plain(b.ID, b.Time.Local().Format("2006-01-02 15:04:05 MST"), progress.Bytes(b.Size), before)...)
			}
			return t.Write(e.Stdout, e.Color)
		}),
	}
}

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

func (e *Env) rootFor(op, name string) error {
	if e.Euid != 0 {
		return fmt.Errorf("%w: %s reads and writes root's files below %s; run: sudo left4me %s %s", fail.ErrPermission, op, e.Layout.Root, op, name)
	}
	return nil
}

// takeBackup backs up name's upper layer, then prunes (keep > 0). why, if
// set, says what it is taken before. done closed ends it (nil: never),
// leaving nothing of it.
func (e *Env) takeBackup(done <-chan struct{}, name, why string, keep int, maxAge time.Duration) (backup.Result, error) {
	dir := BackupDir(e.Layout, name)
	r, err := backup.Create(e.Layout.RuntimeDir(name), dir, e.Now(), backup.Options{Why: why, Done: done})
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOENT) {
		return r, fmt.Errorf("%s: nothing to back up: %s does not exist (it never ran, or was reset): %w", name, filepath.Join(e.Layout.RuntimeDir(name), layout.Upper), err)
	}
	if errors.Is(err, context.Canceled) { // the operator's, no failure to alert of
		return r, fmt.Errorf("%s: backup interrupted, nothing of it kept: %w", name, err)
	}
	if err != nil {
		err = fmt.Errorf("%s: backup failed: %w", name, err)
		// Not the error's text: it names files the server named.
		// A scheduled backup's output is its unit's journal (operator review).
		e.SendAlert(context.Background(), e.Event(alert.BackupFailed, name, name+": backup failed",
			"see: journalctl -u "+units.BackupTimer+name+".service (a scheduled backup), or the output of the left4me command that took it"))
		return r, err
	}
	if why != "" {
		why = " (" + why + ")"
	}
	fmt.Fprintf(e.Stdout, "%s: backup %s%s: %d files, %s, in %s\n", name, r.ID, why, r.Files, progress.Bytes(r.Size), r.Path)
	if len(r.Skipped) > 0 {
		fmt.Fprintln(e.Stderr, skippedNote(name, filepath.Join(e.Layout.RuntimeDir(name), layout.Upper), r.Skipped))
	}
	if keep > 0 {
		gone, err := backup.Prune(dir, keep, maxAge, e.Now())
		for _, g := range gone {
			fmt.Fprintf(e.Stdout, "%s: removed old backup %s\n", name, g.ID)
		}
		if err != nil {
			return r, fmt.Errorf("%s: prune backups: %w", name, err)
		}
	}
	return r, nil
}

// maxSkippedShown bounds the names skippedNote lists: a server can make
// a million FIFOs.
const maxSkippedShown = 20

// skippedNote is the line that says what a backup left out (FIFOs,
// sockets, devices; rel below upper), each name quoted where it holds more
// than printable text (fsat.Child): they are the server's, and one with a
// newline or an ESC would forge a line of the output or the journal, or
// drive the terminal.
func skippedNote(name, upper string, skipped []string) string {
	shown := skipped
	if len(shown) > maxSkippedShown {
		shown = shown[:maxSkippedShown]
	}
	q := make([]string, len(shown))
	for i, s := range shown {
		q[i] = fsat.Child(upper, s)
	}
	more := ""
	if n := len(skipped) - len(shown); n > 0 {
		more = fmt.Sprintf(" and %d more", n)
	}
	return fmt.Sprintf("%s: not backed up (FIFOs, sockets or devices, not data): %s%s", name, strings.Join(q, ", "), more)
}

// BackupBefore takes the backup reset, delete and restore (op) take, if
// there is an upper layer to keep. ctx ending stops it, leaving nothing
// of it: the error is then ctx's.
func (e *Env) BackupBefore(ctx context.Context, op, name string) (id string, err error) {
	if _, err := os.Lstat(filepath.Join(e.Layout.RuntimeDir(name), layout.Upper)); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	keep, maxAge := e.Retention(name)
	if op == "restore" {
		// Pruning now could remove the very backup being restored (the
		// oldest of keep); the next backup prunes.
		keep = 0
	}
	r, err := e.takeBackup(ctx.Done(), name, "before "+op, keep, maxAge)
	if errors.Is(err, context.Canceled) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("%w\n(%s takes a backup first; --no-backup goes without)", err, op)
	}
	return r.ID, nil
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
			msg = fmt.Sprintf("interrupted: nothing was restored (backup %s was not put in place); %s; what it unpacked could not all be removed (the next start, restore or reset of %s tries again): %v", b.ID, left, name, err)
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
	if err := backup.Restore(ctx, d.Path, b, o); err != nil {
		return fmt.Errorf("%s: restore %s: %w", name, b.ID, err)
	}
	fmt.Fprintf(e.Stdout, "%s: restored backup %s into %s\n", name, b.ID, d.Part(layout.Upper))
	return nil
}
