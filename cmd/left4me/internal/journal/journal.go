// Package journal reads a unit's journal by running journalctl, which keeps
// the binary free of cgo (no libsystemd) and matches what operators see.
package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
)

// Args are journalctl's arguments for the last lines of unit (journalctl's
// default when lines <= 0), following new lines when follow is set.
// journalctl itself decides on a pager (only on a terminal).
func Args(unit string, lines int, follow bool) []string {
	args := []string{"--unit", unit}
	if lines > 0 {
		args = append(args, "--lines", strconv.Itoa(lines))
	}
	if follow {
		args = append(args, "--follow")
	}
	return args
}

// Exec runs journalctl with args, its output going to stdout and stderr.
func Exec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, "journalctl", args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("journalctl not found in PATH: install systemd's journalctl to read logs: %w", err)
	case errors.As(err, &ee) && ctx.Err() == nil:
		return fmt.Errorf("journalctl %v exited with status %d", args, ee.ExitCode())
	}
	return fmt.Errorf("journalctl: %w", err)
}
