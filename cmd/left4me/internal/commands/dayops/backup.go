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
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/progress"
	"github.com/left4me/left4me/cmd/left4me/internal/state"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/prestart/fsat"
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
