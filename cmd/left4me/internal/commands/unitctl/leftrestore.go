package unitctl

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// ClearRestoreLeft removes what a restore of name that was cut short (a
// second Ctrl-C, a kill, a power cut) left beside its upper layer
// (backup.Left), saying what it was: the next restore, reset or delete
// finds it (they replace the upper layer anyway), and it is never mistaken
// for the upper layer. A restore or a start under way holds the instance's lock: what
// it has beside the upper layer is its own, left alone. Without root
// runtime/NAME cannot be read: nothing to do (the command needs root for
// what it does anyway).
func (e *Env) ClearRestoreLeft(name string) error {
	if e.Euid != 0 {
		return nil
	}
	// Before any path is made of it: root removes what is found there.
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	d := rundir.Of(e.Layout, name)
	fd, err := d.Lock(rundir.NoWait)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, layout.ErrLocked) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer unix.Close(fd)
	l, err := backup.ClearLeft(d.Path)
	if err != nil {
		return fmt.Errorf("%s: remove what a restore cut short left: %w", name, err)
	}
	if !l.Any() {
		return nil
	}
	again := ""
	if l.Placed == backup.NotPlaced && l.Backup != "" {
		again = fmt.Sprintf("; left4me restore %s %s restores it", name, l.Backup)
	}
	fmt.Fprintf(e.Stdout, "%s: removed %s%s\n", name, l, again)
	return nil
}

// SayRestoreLeft says what a restore of name that was cut short left
// beside its upper layer, removing nothing: a start or restart does not
// replace the upper layer, and what is left may be the only copy of the
// one a restore --no-backup replaced. Without root nothing can be read.
func (e *Env) SayRestoreLeft(name string) error {
	if e.Euid != 0 {
		return nil
	}
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	l, err := backup.FindLeft(rundir.Of(e.Layout, name).Path)
	if err != nil || !l.Any() {
		return nil // a start does not depend on it
	}
	fmt.Fprintf(e.Stdout, "%s: %s; the next left4me restore, reset or delete of %s removes it\n", name, l, name)
	return nil
}
