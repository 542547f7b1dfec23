package unitctl

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// unmountLeft removes the overlay an earlier stop left mounted on an
// instance whose unit is down (its stop helper was killed, say): the
// mount would otherwise count as a running server, holding its ports
// (spec.ReadClaims) and shown as mounted, until the next start removes
// it. The instance's lock is taken before the unit's state is read, so a
// start that comes after waits for it, and one under way is left alone.
func (e *Env) unmountLeft(ctx context.Context, sd clienv.Systemd, names []string) error {
	var errs []error
	for _, n := range names {
		d := rundir.Of(e.Layout, n)
		if m, _ := d.Mounted(); !m {
			continue
		}
		fd, err := d.Lock(rundir.NoWait)
		if err != nil {
			continue // a start or stop is at it, or not root
		}
		u, err := sd.Unit(ctx, clienv.UnitOf(n))
		if err == nil && (u.ActiveState == "inactive" || u.ActiveState == "failed") {
			merged := d.Part(layout.Merged)
			if k, err := rundir.Unmount(merged); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n, err))
			} else if k > 0 {
				fmt.Fprintf(e.Stdout, "%s: unmounted %s, which an earlier stop left mounted\n", n, merged)
			}
		}
		unix.Close(fd)
	}
	return errors.Join(errs...)
}
