package unitctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
)

// DefaultRetryDir is where left4me retry keeps its back-off state: /run,
// so a boot starts every count afresh.
const DefaultRetryDir = "/run/left4me/retry"

// The back-off of retries after systemd gave up on a server: the first
// after retryBase, each next one twice as long up to retryMax; a server
// that ran for retryReset since its last retry starts over.
const (
	retryBase  = time.Minute
	retryMax   = 30 * time.Minute
	retryReset = time.Hour
)

// RetryState is one instance's back-off, as its file holds it.
type RetryState struct {
	Count int       `json:"count"` // retries so far in this series
	Last  time.Time `json:"last"`  // when the last one began waiting
	Next  time.Time `json:"next"`  // when the pending one starts the server; zero: none pending
}

func RetryCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "retry",
		Usage:     "start an instance again after a back-off (run by left4me-retry@NAME.service)",
		ArgsUsage: "NAME",
		Hidden:    true,
		Description: `l4d2@NAME.service starts left4me-retry@NAME.service when systemd gives up
on it (OnFailure=). This waits 1 minute, twice as long after each retry up
to 30 minutes, then starts the server again if it is still failed. A
server that failed while it was being stopped as asked (it did not quit
within its stop timeout), or whose start its helper refused for its disk
ceiling, is not started again.
LEFT4ME_RETRY_BASE= sets the first wait. A stop of the instance cancels
the wait (PartOf=).

Example:
  left4me retry srv1`,
		Action: clienv.OnName(func(c *cli.Context, name string) error { return e.retry(c.Context, name) }),
	}
}

func (e *Env) retryDir() string {
	if e.RetryDir != "" {
		return e.RetryDir
	}
	return DefaultRetryDir
}

// ReadRetry is name's back-off state; none yet is the zero state.
func (e *Env) ReadRetry(name string) RetryState {
	var st RetryState
	if b, err := os.ReadFile(filepath.Join(e.retryDir(), name)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func (e *Env) WriteRetry(name string, st RetryState) error {
	if err := os.MkdirAll(e.retryDir(), 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(st)
	return fsat.WriteFile(filepath.Join(e.retryDir(), name), b, fsat.WriteOptions{Perm: 0o644})
}

// retryDelay is the wait before retry number count (0 = the first).
func retryDelay(base time.Duration, count int) time.Duration {
	d := base
	for range count {
		if d >= retryMax/2 {
			return retryMax
		}
		d *= 2
	}
	return min(d, retryMax)
}

func (e *Env) retry(ctx context.Context, name string) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	unit := clienv.UnitOf(name)
	sd, err := e.Connect(ctx)
	if err != nil {
		return err
	}
	defer sd.Close()
	u, err := sd.Unit(ctx, unit)
	if err != nil {
		return err
	}
	if u.ActiveState != "failed" {
		// Some systemd versions run OnFailure= between automatic restarts
		// (systemd#27594): systemd is still on it then.
		fmt.Fprintf(e.Stdout, "%s is %s (%s): nothing to retry\n", unit, u.ActiveState, u.SubState)
		return nil
	}
	// Meant to be down, and stays so: a stop that failed, or a start its
	// helper refused for its disk ceiling (retried, the same refusal would
	// come back, alerted each time, until someone frees space).
	if e.EndedByStop(ctx, u) {
		fmt.Fprintf(e.Stdout, "%s failed (result %s) while it was being stopped as asked: not started again\n", unit, u.Result)
		return nil
	}
	if e.RefusedOverDisk(ctx, u) {
		fmt.Fprintf(e.Stdout, "%s: its start helper refused to start it: over its disk ceiling (left4me status %s says how much it holds): not started again; free space, then left4me start %s\n", unit, name, name)
		return nil
	}
	base := retryBase
	if v := os.Getenv("LEFT4ME_RETRY_BASE"); v != "" {
		if base, err = time.ParseDuration(v); err != nil || base <= 0 {
			return fmt.Errorf("%w: LEFT4ME_RETRY_BASE=%q: want a duration like 1m", fail.ErrUsage, v)
		}
	}
	now := e.Now()
	st := e.ReadRetry(name)
	if now.Sub(st.Last) > retryReset+retryDelay(base, st.Count) {
		st.Count = 0
	}
	wait := retryDelay(base, st.Count)
	st.Count++
	st.Last, st.Next = now, now.Add(wait)
	if err := e.WriteRetry(name, st); err != nil {
		fmt.Fprintf(e.Stderr, "cannot record the back-off of %s: %v\n", name, err)
	}
	fmt.Fprintf(e.Stdout, "%s failed (result %s): starting it again in %v (retry %d; the wait doubles after each, to at most %v, and starts over once it runs for %v)\n",
		unit, u.Result, wait, st.Count, retryMax, retryReset)
	defer func() {
		st.Next = time.Time{}
		_ = e.WriteRetry(name, st)
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintf(e.Stdout, "retry of %s canceled (the instance was stopped)\n", name)
		return nil
	case <-time.After(wait):
	}
	if u, err = sd.Unit(ctx, unit); err != nil {
		return err
	}
	if u.ActiveState != "failed" {
		fmt.Fprintf(e.Stdout, "%s is %s now: not started again\n", unit, u.ActiveState)
		return nil
	}
	if _, err := os.Lstat(e.Layout.SpecPath(name)); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.Stdout, "%s has no spec any more: not started again\n", name)
		return nil
	}
	// An edit made meanwhile applies, as at `left4me start` (the start
	// helper refuses a spec systemd has not loaded); one that made the
	// spec invalid would only be refused, alerted, at every retry.
	if _, err := e.Load(name); err != nil {
		fmt.Fprintf(e.Stdout, "%s: its spec is invalid now: not started again; fix it (left4me validate %s), then left4me start %s\n%v\n", unit, name, name, err)
		return nil
	}
	if err := e.ReloadIfStale(ctx, sd, []string{name}); err != nil {
		return err
	}
	if err := sd.ResetFailed(ctx, unit); err != nil {
		return err
	}
	if err := sd.Enqueue(ctx, unit); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "started %s again (retry %d)\n", unit, st.Count)
	return nil
}
