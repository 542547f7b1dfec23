package unitctl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/units"
)

// scheduledFlag is restart's --scheduled: what left4me-restart@NAME.service
// runs when the spec's schedule.restart comes due.
var scheduledFlag = &cli.BoolFlag{Name: "scheduled", Usage: "restart NAME as its spec's schedule: says (restart_deadline, restart_force, restart_warn_at, restart_announce), only if it runs; what left4me-restart@NAME.timer starts"}

// scheduledRestart is a restart by the spec's schedule: the same rollout
// as restart --when-empty [--force --warn-at --announce], its settings
// from the spec, and never a start of a stopped server.
func (e *Env) scheduledRestart(c *cli.Context) error {
	for _, f := range []string{"when-empty", "deadline", "force", "warn-at", "announce", "all"} {
		if c.IsSet(f) {
			return fmt.Errorf("%w: --scheduled takes its settings from the spec's schedule:, not --%s", fail.ErrUsage, f)
		}
	}
	if c.NArg() != 1 {
		return fmt.Errorf("%w: --scheduled restarts one instance, e.g. left4me restart --scheduled srv1", fail.ErrUsage)
	}
	name := c.Args().First()
	err := e.restartBySchedule(c, name)
	if err != nil && e.AlertFailure != nil {
		// Nobody watches a timer's unit: what failed is told (a spec
		// that no longer loads too). A server whose start failed after
		// the stop alerts by itself as well (l4d2@'s OnFailure=) once
		// systemd gives up on it.
		e.AlertFailure(c.Context, err, alert.RestartFailed, name, name+": its scheduled restart failed", "journalctl -u "+units.RestartTimer+name+".service")
	}
	return err
}

// restartBySchedule is scheduledRestart of name, once its flags passed.
func (e *Env) restartBySchedule(c *cli.Context, name string) error {
	s, err := e.Load(name)
	if err != nil {
		return err
	}
	if s.Schedule.Restart == "" {
		// A timer started before its schedule was removed (the generator
		// keeps it loaded, units.RetiredTimers) ends here if it ever fires;
		// run by hand with no such timer, there is nothing to stop.
		fmt.Fprintf(e.Stdout, "%s: its spec has no schedule.restart (any more): nothing to do\n", name)
		if sd, err := e.Connect(c.Context); err == nil {
			_ = sd.Stop(c.Context, units.RestartTimer+name+".timer")
			sd.Close()
		}
		return nil
	}
	err = e.UnitOp(c.Context, ScheduledPlan(name, s.Schedule))
	if errors.Is(err, rollout.ErrLeftRunning) {
		// restart_force: false asked for this (LinuxGSM's
		// stoponlyifnoplayers): not a failed unit every night players stay.
		fmt.Fprintf(e.Stdout, "%s; the next scheduled restart tries again\n", strings.TrimPrefix(err.Error(), fail.ErrJobFailed.Error()+": "))
		return nil
	}
	return err
}

// ScheduledPlan is the rollout of a scheduled restart of name.
func ScheduledPlan(name string, sc spec.Schedule) rollout.Plan {
	p := rollout.Plan{Op: "restart", Names: []string{name}, WhenEmpty: true, OnlyRunning: true,
		Deadline: sc.RestartDeadline, Force: sc.RestartForce, WarnAt: sc.RestartWarnAt, Announce: sc.RestartAnnounce}
	if p.Announce == "" {
		p.Announce = DefaultAnnounce
	}
	return p
}
