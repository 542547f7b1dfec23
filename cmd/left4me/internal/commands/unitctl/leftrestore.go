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
// (backup.Left), saying what it was: the next start, restart, restore,
// reset or delete finds it, and it is never mistaken for the upper
// layer. A restore or a start under way holds the instance's lock: what
// it has beside the upper layer is its own, left alone. Without root
// runtime/NAME cannot be read: nothing to do (the command needs root for
// what it does anyway).
func (e *Env) ClearRestoreLeft(name string) error {
	if e.Euid != 0 {
		return nil
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
