// Package fail holds the CLI's sentinel errors and maps them to exit codes,
// so that scripts can tell "no such instance" from "not root" without
// parsing messages.
package fail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/left4me/left4me/spec/layout"
)

// Sentinel errors. Each is wrapped with a message that says what was wrong
// and what to do; the sentinel only selects the exit code.
var (
	ErrUsage           = errors.New("usage")
	ErrUnknownInstance = errors.New("unknown instance")
	ErrNoSpecDir       = errors.New("spec directory missing")
	ErrNoSystemd       = errors.New("systemd not reachable")
	ErrPermission      = errors.New("permission denied")
	ErrExists          = errors.New("already exists")
	ErrJobFailed       = errors.New("job failed")
	ErrNotConfirmed    = errors.New("not confirmed")
	ErrMounted         = errors.New("still mounted")
	// ErrNotRunning: status/is-active of an instance that is not active.
	// Its output said so already; the exit code is the answer.
	ErrNotRunning = errors.New("not running")
	// ErrNoGame: the game is not installed; nothing is wrong with the
	// specs.
	ErrNoGame = errors.New("the game is not installed")
	// ErrHosts: a fleet command (--host) could not reach a host or its
	// command failed there; every host's row was printed all the same.
	ErrHosts = errors.New("not every host gave its answer")
)

// Exit codes; listed in `left4me --help`.
// 3 and 4 are systemctl status's: not running, no such unit.
const (
	CodeFailure         = 1
	CodeUsage           = 2
	CodeNotRunning      = 3
	CodeUnknownInstance = 4
	CodeNoSystemd       = 5
	CodePermission      = 6
	CodeNoSpecDir       = 7
	// CodeInterrupted is a shell's for SIGINT (128+2), for every signal
	// that ends a command (main's signal.NotifyContext).
	CodeInterrupted = 130
)

// Interrupted is what to print, and the exit code, for err ending a
// command whose context a signal canceled: "interrupted" and what the
// command said it left, never Go's "context canceled".
func Interrupted(err error) (string, int) {
	msg := strings.ReplaceAll(err.Error(), ": "+context.Canceled.Error(), "")
	msg = strings.TrimSpace(strings.ReplaceAll(msg, context.Canceled.Error(), ""))
	switch {
	case strings.HasPrefix(msg, "interrupted"):
	case msg == "":
		msg = "interrupted"
	default:
		msg = "interrupted: " + msg
	}
	return msg, CodeInterrupted
}

// Coded gives err the exit code of sentinel without its word in the
// message: a spec's conflict ("FILE:LINE:COL: port ... is already used")
// is the caller's to fix (2), but no mistake in how left4me was called.
func Coded(sentinel, err error) error { return coded{sentinel, err} }

type coded struct{ sentinel, err error }

func (c coded) Error() string        { return c.err.Error() }
func (c coded) Unwrap() error        { return c.err }
func (c coded) Is(target error) bool { return target == c.sentinel }

// Code is the process exit code for err (0 for nil).
func Code(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrPermission):
		// First: "not root" is the fix even when the call also failed otherwise.
		return CodePermission
	case errors.Is(err, ErrUsage), errors.Is(err, layout.ErrInvalidName), errors.Is(err, ErrNotConfirmed):
		return CodeUsage
	case errors.Is(err, ErrUnknownInstance):
		return CodeUnknownInstance
	case errors.Is(err, ErrNotRunning):
		return CodeNotRunning
	case errors.Is(err, ErrNoSpecDir):
		return CodeNoSpecDir
	case errors.Is(err, ErrNoSystemd):
		return CodeNoSystemd
	}
	return CodeFailure
}

// Silent reports whether err needs no message of its own: the command's
// output said it (status of a stopped instance), and marked it Shown.
func Silent(err error) bool {
	var s shown
	return errors.As(err, &s) && !errors.Is(err, ErrNoSystemd) && !errors.Is(err, ErrUnknownInstance)
}

// Shown marks err as said by the command's output already: main exits
// with its code and prints nothing more. Any other error, such as a
// console that is not there, is printed.
func Shown(err error) error { return shown{err} }

type shown struct{ error }

func (s shown) Unwrap() error { return s.error }

// NeedsRoot marks err as a permission problem when it is one (EACCES,
// EPERM), naming the action and the fix; other errors pass unchanged.
func NeedsRoot(err error, action string) error {
	if err != nil && errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: %s needs root (%v); run it with sudo", ErrPermission, action, err)
	}
	return err
}
