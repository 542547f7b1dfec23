package game

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
)

// Update policy: what a game update does with the servers still on the
// version it replaced, from /etc/left4me/update.env (EnvironmentFile= of
// left4me-update.service) or the flags.
const (
	policyNever     = "never"
	policyWhenEmpty = "when-empty"
	policyNow       = "now"
)

// MaxRestartDeadline is the longest wait for players after an update, as
// for a scheduled restart's; unitTimeout is left4me-update.service's
// TimeoutStartSec=, which leaves the download 6 hours besides.
const (
	MaxRestartDeadline = 24 * time.Hour
	unitTimeout        = 30 * time.Hour
)

func updatePolicyFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "restart", EnvVars: []string{"LEFT4ME_UPDATE_RESTART"}, Value: policyNever,
			Usage: "after a new build is installed, restart the servers still on the old one: never, when-empty (each once nobody plays, for at most --restart-deadline; occupied ones stay) or now (`POLICY`); one at a time, ending at the first that fails; a server a start would refuse (an invalid spec) stays on the old build and fails the update at the end"},
		&durationFlag{cli.StringFlag{Name: "restart-deadline", EnvVars: []string{"LEFT4ME_UPDATE_DEADLINE"}, Value: "1h",
			Usage: "with --restart when-empty: leave servers still occupied after this long on the old build (`DURATION`, at most 24h)"}},
	}
}

// durationFlag is a duration flag read as text, which the action parses
// (updatePolicy): urfave/cli's DurationFlag fails the whole command on a
// bad value from its environment variable, before any action could tell
// that it came from update.env. Typed on the command line, a bad value
// is refused by the action all the same, before anything runs.
type durationFlag struct{ cli.StringFlag }

// sameValue tells whether texts a and b give one value (2h and 120m),
// for fromEnv.
func (*durationFlag) sameValue(a, b string) bool {
	da, erra := time.ParseDuration(a)
	db, errb := time.ParseDuration(b)
	return a == b || (erra == nil && errb == nil && da == db)
}

// policyError is an update policy refused, and the flag that gave it.
type policyError struct {
	flag string
	err  error
}

func (p *policyError) Error() string { return p.err.Error() }
func (p *policyError) Unwrap() error { return p.err }

// policyFromUpdateEnv tells whether err, from updatePolicy, is about a
// value update.env gave (left4me-update.service's run), not the command
// line's.
func policyFromUpdateEnv(c *cli.Context, err error) bool {
	var pe *policyError
	if !errors.As(err, &pe) {
		return false
	}
	for _, f := range updatePolicyFlags() {
		if f.Names()[0] == pe.flag {
			return fromEnv(c, f)
		}
	}
	return false
}

// updatePolicy reads --restart and --restart-deadline, before anything is
// downloaded.
func updatePolicy(c *cli.Context) (string, time.Duration, error) {
	refuse := func(flag, format string, a ...any) (string, time.Duration, error) {
		return "", 0, &policyError{flag: flag, err: fmt.Errorf("%w: "+format, append([]any{fail.ErrUsage}, a...)...)}
	}
	policy := c.String("restart")
	switch policy {
	case policyNever, policyWhenEmpty, policyNow:
	default:
		return refuse("restart", "--restart (LEFT4ME_UPDATE_RESTART) %q: want never, when-empty or now", policy)
	}
	v := strings.TrimSpace(c.String("restart-deadline"))
	d, err := time.ParseDuration(v)
	if err != nil {
		return refuse("restart-deadline", "--restart-deadline (LEFT4ME_UPDATE_DEADLINE) %q: "+clienv.WantDuration, v)
	}
	if d < 0 {
		return refuse("restart-deadline", "--restart-deadline (LEFT4ME_UPDATE_DEADLINE) %v: a wait cannot be negative", d)
	}
	// left4me-update.service's TimeoutStartSec= holds the download and
	// this wait: a longer wait would be killed midway, servers left on
	// the old build and the unit failed. Beside another policy it waits
	// for nothing (update.env may keep one), and must not stop updates.
	if policy == policyWhenEmpty && d > MaxRestartDeadline {
		return refuse("restart-deadline", "--restart-deadline (LEFT4ME_UPDATE_DEADLINE) %v: at most %v (%s gives the update %v in all, the download included)", d, MaxRestartDeadline, UpdateUnit, unitTimeout)
	}
	// A flag that would do nothing is refused, never ignored (as restart's
	// --deadline without --when-empty); update.env may keep a deadline
	// beside "never", so only the command line's is judged.
	if policy != policyWhenEmpty && c.IsSet("restart-deadline") && os.Getenv("LEFT4ME_UPDATE_DEADLINE") == "" {
		return refuse("restart-deadline", "--restart-deadline only means something with --restart when-empty; with --restart %s it would be ignored", policy)
	}
	return policy, d, nil
}

// moveOver restarts the servers left on an older version (old, running)
// by policy, through the same rolling restart as left4me restart --all:
// those a start would refuse (an invalid spec) stay on their version,
// running, and are named in refused; err is the others' rollout.
func (e *Env) moveOver(ctx context.Context, policy string, deadline time.Duration, old []string) (refused, err error) {
	// A server whose spec was removed while it runs cannot be started
	// again: it stays on its version until it is stopped.
	old = slices.DeleteFunc(old, func(n string) bool {
		if _, err := os.Lstat(e.Layout.SpecPath(n)); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(e.Stdout, "%s has no spec (removed while it runs): left on its version; `left4me stop %s` stops it\n", n, n)
			return true
		}
		return false
	})
	if len(old) == 0 || policy == policyNever {
		if len(old) > 0 {
			fmt.Fprintf(e.Stdout, "running on an older version until they restart: %s; `left4me restart --all --when-empty` restarts them one at a time when empty (--restart when-empty does it after an update; LEFT4ME_UPDATE_RESTART in /etc/left4me/update.env for left4me-update.service)\n", strings.Join(old, ", "))
		}
		return nil, nil
	}
	sd, err := e.Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer sd.Close()
	// old are the servers running on an older version; a rolling
	// restart ends at the first that fails to come back on the new one.
	p := rollout.Plan{Op: "restart", Names: old, Rolling: true, OnlyRunning: true}
	how := "at once"
	if policy == policyWhenEmpty {
		p.WhenEmpty, p.Deadline = true, deadline
		how = fmt.Sprintf("each once it has no players (for at most %v)", deadline)
	}
	refused, err = e.RestartRolling(ctx, sd, p, func(names []string) {
		fmt.Fprintf(e.Stdout, "update policy %s: restarting %s onto the new version, one after the other, %s\n", policy, strings.Join(names, ", "), how)
	})
	if errors.Is(err, rollout.ErrLeftRunning) {
		// What the policy asked: players are never kicked for an update.
		fmt.Fprintf(e.Stdout, "%s; they move to the new version at their next restart\n", strings.TrimPrefix(err.Error(), fail.ErrJobFailed.Error()+": "))
		err = nil
	}
	return refused, err
}

// policyAlert is the update-failed alert's summary and detail after the
// policy's restarts: err, the rollout's failure, and refused, the
// servers left out (unitctl.Refused), either of which may be nil.
func policyAlert(policy, build string, refused, err error) (summary, detail string) {
	where := "see: journalctl -u left4me-update, or the command's output"
	var r *unitctl.Refused
	if !errors.As(refused, &r) {
		return "update policy " + policy + ": moving servers onto build " + build + " failed; the others stay on their version", where
	}
	// Nothing said of the others: the output tells which moved, and
	// which wait for players.
	summary = "update policy " + policy + ": not moved onto build " + build + ", a start would be refused (each keeps running on its version): " + strings.Join(r.Names, ", ")
	if err != nil {
		summary = "update policy " + policy + ": moving servers onto build " + build + " failed; and not moved, a start would be refused (each keeps running on its version): " + strings.Join(r.Names, ", ")
	}
	var why []string
	for _, e := range r.Errs {
		why = append(why, e.Error())
	}
	detail = strings.Join(why, "\n")
	if len(detail) > maxAlertWhy {
		// A whole fleet's broken specs would make an unreadable page;
		// the journal keeps them all.
		detail = strings.ToValidUTF8(detail[:maxAlertWhy], "") + " [...]"
	}
	return summary, detail + "\n" + where
}

// maxAlertWhy bounds the reasons an update-failed alert quotes.
const maxAlertWhy = 2000

// updateEnvPath is update.env, the EnvironmentFile= of UpdateUnit.
func (e *Env) updateEnvPath() string { return filepath.Join(e.Layout.ConfigDir, "update.env") }
