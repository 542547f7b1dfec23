package control

import (
	"context"
	"fmt"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// JobError is a start, stop or restart job that did not end in "done".
type JobError struct {
	Op, Unit string
	Result   string // canceled, timeout, failed, dependency, ...
}

func (e *JobError) Error() string {
	return fmt.Sprintf("%s %s: job %s", e.Op, e.Unit, e.Result)
}

// Unwrap makes every JobError a fail.ErrJobFailed.
func (e *JobError) Unwrap() error { return fail.ErrJobFailed }

// Start starts unit and waits for the job's result.
func (c *Conn) Start(ctx context.Context, unit string) error {
	return c.job(ctx, "start", unit, c.c.StartUnitContext)
}

// Stop stops unit and waits for the job's result.
func (c *Conn) Stop(ctx context.Context, unit string) error {
	return c.job(ctx, "stop", unit, c.c.StopUnitContext)
}

// Restart restarts unit (starts it when stopped) and waits for the result.
func (c *Conn) Restart(ctx context.Context, unit string) error {
	return c.job(ctx, "restart", unit, c.c.RestartUnitContext)
}

// Enqueue queues a start of unit and returns without waiting for it (as
// systemctl start --no-block). left4me retry uses it: were it still
// waiting when the unit failed again, that failure's OnFailure= start of
// the retry would find it running and be lost.
func (c *Conn) Enqueue(ctx context.Context, unit string) error {
	if _, err := c.c.StartUnitContext(ctx, unit, "replace", nil); err != nil {
		return callError("start "+unit, err)
	}
	return nil
}

type jobFunc func(ctx context.Context, name, mode string, ch chan<- string) (int, error)

func (c *Conn) job(ctx context.Context, op, unit string, run jobFunc) error {
	// Buffered: go-systemd blocks its signal dispatch until the result is
	// taken, and we may have given up waiting (ctx) by then.
	ch := make(chan string, 1)
	if _, err := run(ctx, unit, "replace", ch); err != nil {
		return callError(op+" "+unit, err)
	}
	select {
	case res := <-ch:
		if res == "done" || (op == "stop" && res == "skipped") {
			return nil
		}
		return &JobError{Op: op, Unit: unit, Result: res}
	case <-ctx.Done():
		return fmt.Errorf("%s %s: gave up waiting for the job (%w); it may still finish: check `systemctl status %s`", op, unit, ctx.Err(), unit)
	}
}
