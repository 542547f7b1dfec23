package game

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/safepath"
)

// checkUpdateEnv refuses an update.env that others could change: systemd
// reads it into root's update before us, and what it says decides what
// root runs (LEFT4ME_STEAMCMD; every variable reaches steamcmd). It is
// checked whenever it exists, not only in the unit's run, whose
// environment cannot be told from an operator's: a by-hand run says it
// before the timer's would.
func (e *Env) checkUpdateEnv() error {
	if e.Layout.ConfigDir == "" {
		return nil // no configuration directory, no update.env
	}
	path := e.updateEnvPath()
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := safepath.Check(path); err != nil {
		return fmt.Errorf("update refused: %s sets the environment of %s, which runs as root: %w", path, UpdateUnit, err)
	}
	return nil
}

// refused alerts to an update refused before anything is downloaded
// (err, if not nil), as to a failed one: nobody watches the timer's run.
func (e *Env) refused(ctx context.Context, op string, err error) error {
	if err != nil {
		e.AlertFailure(ctx, err, alert.UpdateFailed, "", op+" refused: "+err.Error(), "journalctl -u "+UpdateUnit+", or the command's output")
	}
	return err
}
