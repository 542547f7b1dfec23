package dayops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

func AlertCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:  "alert",
		Usage: "alerts by webhook, command or email (/etc/left4me/alerts.yaml)",
		Description: `Where alerts go is /etc/left4me/alerts.yaml (webhook:, format:, command:,
email:); the events come from systemd (left4me-alert@NAME.service, started
by l4d2@NAME.service's OnFailure=) and from updates, overlay builds,
backups and scheduled restarts that failed. The same alert again within
repeat_after: (default 4h) is held back and counted in the next one sent.
See README, Alerts.

Example:
  left4me alert test`,
		Subcommands: []*cli.Command{
			{
				Name:  "test",
				Usage: "send a test event every way alerts.yaml names",
				Description: `Sends a test event by the webhook, the command and the email that
/etc/left4me/alerts.yaml names, and says which got it. Exits non-zero if
one failed, naming it (never the webhook's URL), and warns when the file,
with its webhook's secret, is readable by other users. Needs root.

Example:
  left4me alert test`,
				Action: func(c *cli.Context) error {
					if e.Euid != 0 {
						// It runs the command alerts.yaml names, which is
						// root's to run; and the file may hold a secret.
						return fmt.Errorf("%w: alert test sends what %s/%s names as root would; run: sudo left4me alert test", fail.ErrPermission, e.Layout.ConfigDir, alert.File)
					}
					cfg, err := e.alertConfig()
					if err != nil {
						return err
					}
					if cfg == nil {
						return fmt.Errorf("no %s/%s: nothing to test; see README, Alerts", e.Layout.ConfigDir, alert.File)
					}
					if cfg.Exposed != "" {
						fmt.Fprintf(e.Stderr, "warning: %s\n", cfg.Exposed)
					}
					sent, err := alert.Send(c.Context, cfg, e.Event(alert.Test, "", "test alert from left4me alert test", ""))
					for _, s := range sent {
						fmt.Fprintf(e.Stdout, "sent by %s\n", s)
					}
					return err
				},
			},
			{
				Name:      "unit",
				Usage:     "alert that an instance's unit failed (run by left4me-alert@NAME.service)",
				ArgsUsage: "NAME",
				Hidden:    true,
				Description: `l4d2@NAME.service starts left4me-alert@NAME.service when it fails
(OnFailure=), after systemd gave up restarting it. This tells why: its
start limit (a crash loop), a hang the watchdog killed, a start its helper
refused, or another failure. Failures to deliver go to the journal; the
exit status is 0 regardless.

Example:
  left4me alert unit srv1`,
				Action: clienv.OnName(func(c *cli.Context, name string) error {
					if err := layout.ValidateName(name); err != nil {
						return err
					}
					ev, ok, err := e.unitEvent(c.Context, name)
					if err != nil || !ok {
						return err
					}
					e.SendAlert(c.Context, ev)
					return nil
				}),
			},
		},
	}
}

func (e *Env) alertConfig() (*alert.Config, error) {
	cfg, err := alert.Load(e.Layout.ConfigDir)
	if errors.Is(err, os.ErrPermission) {
		return nil, fmt.Errorf("%w: %s/%s is root's; run with sudo", fail.ErrPermission, e.Layout.ConfigDir, alert.File)
	}
	return cfg, err
}

func (e *Env) Event(kind, name, summary, detail string) alert.Event {
	host, _ := os.Hostname()
	return alert.Event{Kind: kind, Instance: name, Host: host, Time: e.Now().UTC(), Summary: summary, Detail: detail}
}

// SendAlert delivers ev if alerts.yaml exists; what fails is said on
// stderr (the journal, in a unit) and never fails the caller.
func (e *Env) SendAlert(ctx context.Context, ev alert.Event) {
	cfg, err := e.alertConfig()
	if err != nil {
		fmt.Fprintf(e.Stderr, "alert %s not sent: %v\n", ev.Kind, err)
		return
	}
	if cfg == nil {
		return
	}
	// The same alert again soon is held back: a refused start is retried
	// for as long as its cause lasts, each retry failing anew. The
	// records are root's (another user sends each).
	var hold *alert.Hold
	key := ""
	if cfg.RepeatAfter > 0 && e.AlertDir != "" && e.Euid == 0 && ev.Kind != alert.Test {
		hold = &alert.Hold{Dir: e.AlertDir, Every: cfg.RepeatAfter, Now: e.Now}
		held, last, k, err := hold.Check(ev)
		switch {
		case err != nil:
			fmt.Fprintf(e.Stderr, "alert %s: cannot tell whether it went out already, so it goes: %v\n", ev.Kind, err)
		case held:
			fmt.Fprintf(e.Stderr, "alert %s held back: the same went out at %s, less than repeat_after (%v, %s) ago; %d held back since: %s\n",
				ev.Kind, last.At.UTC().Format(time.RFC3339), cfg.RepeatAfter, alert.File, last.Held, ev.Summary)
			return
		case last.Held > 0:
			ev.Detail = strings.TrimSpace(ev.Detail + fmt.Sprintf("\n(%d more of this alert held back since %s: repeat_after %v)", last.Held, last.At.UTC().Format(time.RFC3339), cfg.RepeatAfter))
		}
		key = k
	}
	sent, err := alert.Send(ctx, cfg, ev)
	for _, s := range sent {
		fmt.Fprintf(e.Stderr, "alert %s sent by %s: %s\n", ev.Kind, s, ev.Summary)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "alert %s: %v\n", ev.Kind, err)
	}
	if hold != nil && key != "" && len(sent) > 0 {
		if err := hold.Record(key); err != nil {
			fmt.Fprintf(e.Stderr, "alert %s: cannot record that it went out (the same goes again next time): %v\n", ev.Kind, err)
		}
	}
}

// maxDetail bounds what of a helper's refusal goes out.
const maxDetail = 1000

// unitEvent says why name's unit failed, from its result and, for a
// start its helper refused, the helper's reason. Started by the unit's
// ExecStopPost= after a hang kill instead (the unit is not failed: systemd
// restarts it), it is a hang kill if systemd said so; else there is
// nothing to tell (ok false).
func (e *Env) unitEvent(ctx context.Context, name string) (ev alert.Event, ok bool, err error) {
	unit := clienv.UnitOf(name)
	u, err := e.UnitState(ctx, name)
	if err != nil {
		return ev, false, err
	}
	hint := "left4me status " + name + "; left4me logs " + name
	if u.ActiveState != "failed" {
		// Started beside the disk service's stop, the unit may still be
		// deactivating.
		if u.ActiveState == "inactive" || u.ActiveState == "deactivating" {
			if why := e.diskStop(ctx, name, e.Now().Add(-2*time.Minute)); why != "" {
				return e.diskEvent(name, why), true, nil
			}
		}
		// A watchdog kill is systemd's own result of the run that ended;
		// a socket kill line of the minute may be an earlier run's.
		if why := e.socketKill(ctx, unit, e.Now().Add(-time.Minute)); u.Result != "watchdog" && why != "" {
			return e.socketEvent(name, why, "systemd restarts it"), true, nil
		}
		if u.Result != "watchdog" && !e.watchdogFired(ctx, unit, e.Now().Add(-time.Minute)) {
			fmt.Fprintf(e.Stderr, "%s is %s and no hang was killed in the last minute: no alert\n", unit, u.ActiveState)
			return ev, false, nil
		}
		return e.Event(alert.HangKill, name, name+e.hung(name)+": the watchdog killed it; systemd restarts it", hint), true, nil
	}
	// The disk timer's stop of a server over its ceiling that failed (it
	// did not quit in time): the reason is still the disk.
	if why := e.diskStop(ctx, name, e.Now().Add(-2*time.Minute)); why != "" {
		return e.diskEvent(name, why), true, nil
	}
	if u.MainRan && e.EndedByStop(ctx, u) {
		what := "did not quit within its stop timeout (TimeoutStopSec) when it was stopped or restarted: systemd killed it"
		if u.Result != "timeout" {
			what = "failed on its way down when it was stopped or restarted"
		}
		return e.Event(alert.Failed, name, fmt.Sprintf("%s %s (%s); a stop leaves it down, a restart starts it again", name, what, u.Result), hint), true, nil
	}
	return e.failedEvent(ctx, name, unit, u.Result, u.Since, hint), true, nil
}

// hung says what a watchdog kill of name means: with hang_timeout: 0 only
// its relay feeds the watchdog (layout.RelayWatchdog), so its relay
// stopped, most likely stopped by a process of the server's user.
func (e *Env) hung(name string) string {
	if s, err := spec.Judge(e.Layout, name); err == nil && s.HangTimeout == 0 {
		return fmt.Sprintf("'s relay stopped feeding the watchdog for %ds (hang_timeout: 0 kills no silent server, so the relay itself was stopped or hung: a plugin can SIGSTOP it where the kernel lacks Landlock scopes, Linux 6.12)", layout.RelayWatchdog)
	}
	return " stopped answering queries"
}

// watchdogFired reports whether systemd logged a watchdog timeout of unit
// since began (src/core/service.c: "Watchdog timeout (limit %s)!").
func (e *Env) watchdogFired(ctx context.Context, unit string, began time.Time) bool {
	var out, errb bytes.Buffer
	args := []string{"--unit", unit, "--since", "@" + strconv.FormatInt(began.Unix(), 10), "--grep", "Watchdog timeout",
		"--output", "cat", "--no-pager", "--quiet", "--lines", "1"}
	return e.Journal(ctx, args, &out, &errb) == nil && strings.Contains(out.String(), "Watchdog timeout")
}

// socketKill says why unit's relay killed its server since began for its
// sockets (socketKillLine), "" if it did not: its own line at priority err,
// anchored (the server's lines are stored at info, whatever they say,
// and no line of the relay's that quotes the server begins so). No
// --lines: with --grep, systemd 252 may apply it before the match
// (systemd#25147).
func (e *Env) socketKill(ctx context.Context, unit string, began time.Time) string {
	var out, errb bytes.Buffer
	args := []string{"--unit", unit, "--identifier", "left4me-relay", "--priority", "err", "--since", "@" + strconv.FormatInt(began.Unix(), 10),
		"--grep", socketKillLine, "--output", "cat", "--no-pager", "--quiet"}
	if e.Journal(ctx, args, &out, &errb) != nil {
		return ""
	}
	why := ""
	for _, l := range strings.Split(out.String(), "\n") {
		switch m := regexp.MustCompile(socketKillLine).FindStringSubmatch(l); {
		case m == nil:
		case m[1] != "":
			why = heldPorts // the last line is the last kill's
		default:
			why = blinded
		}
	}
	return why
}

// socketKillLine is the relay's line of a socket kill (left4me-relay's
// socketsError) or of a count made blind (its blindedError).
const socketKillLine = `^(?:(the server holds [0-9]+ of the host's ephemeral ports )|the server blinds the socket count: )`

// Why a relay killed its server for its sockets.
const (
	heldPorts = "held more than %d of the host's ephemeral ports (a plugin leaking sockets, or taking the ports its neighbours need)"
	blinded   = "lowered its relay's open-file limit, so that the relay could no longer count its sockets (a plugin hiding from the bound on the host's ports)"
)

// socketEvent is the alert of a server its relay killed for holding more
// sockets than a server may; then says what systemd does next.
func (e *Env) socketEvent(name, why, then string) alert.Event {
	if why == heldPorts {
		why = fmt.Sprintf(heldPorts, layout.MaxSockets)
	}
	return e.Event(alert.SocketKill, name, fmt.Sprintf("%s %s: it was killed; %s", name, why, then),
		"see: journalctl -u "+clienv.UnitOf(name)+" -p err")
}

// diskEvent is the alert of a server the disk timer stopped, why.
func (e *Env) diskEvent(name, why string) alert.Event {
	return e.Event(alert.DiskFull, name, name+" was stopped: its upper layer and crash dumps hold more than its disk ceiling; it cannot start until space is freed", why)
}

// diskStop is why left4me-disk.service stopped instance name since began,
// "" if it did not. Its stop line is at priority info; the reasons at err
// hold names the server chose, so they are not read: the reason is told
// from root's own record of the measure (runtime/NAME/usage) and the
// spec's ceiling.
func (e *Env) diskStop(ctx context.Context, name string, began time.Time) string {
	var out, errb bytes.Buffer
	args := []string{"--unit", layout.DiskUnit, "--since", "@" + strconv.FormatInt(began.Unix(), 10), "--priority", "info..info",
		"--output", "cat", "--no-pager", "--quiet"}
	if e.Journal(ctx, args, &out, &errb) != nil {
		return ""
	}
	if !slices.Contains(strings.Split(out.String(), "\n"), "stopping "+clienv.UnitOf(name)+": over its disk ceiling") {
		return ""
	}
	used, at, ok := rundir.Of(e.Layout, name).ReadUsage()
	if !ok {
		return "see: journalctl -u " + layout.DiskUnit
	}
	ceiling := "its ceiling"
	if s, err := spec.Judge(e.Layout, name); err == nil && s.Resources.DiskBytes() > 0 {
		// As the disk timer held it: its start's over a lower spec's.
		n, ok := rundir.Of(e.Layout, name).ReadCeiling()
		ceiling = "its ceiling of " + prestart.Size(prestart.HeldCeiling(n, ok, s.Resources.DiskBytes()))
	}
	return fmt.Sprintf("its upper layer and crash dumps hold %s (measured %s), more than %s (or a tree too deep to measure); remove files from %s, reset it (`left4me reset %s`) or raise resources.disk; see: journalctl -u %s",
		prestart.Size(used), at.UTC().Format("2006-01-02 15:04:05 UTC"), ceiling, e.Layout.RuntimePart(name, layout.Upper), name, layout.DiskUnit)
}

// failedEvent says why a unit that reached failed did.
func (e *Env) failedEvent(ctx context.Context, name, unit, result string, since time.Time, hint string) alert.Event {
	// A start its helper refused (a stale spec, a missing overlay) loops
	// to the start limit too: the helper's errors tell it apart.
	if why := e.helperErrors(ctx, unit, since.Add(-2*time.Minute)); why != "" {
		if strings.Contains(why, prestart.ErrFullForUsers.Error()) {
			// Not its configuration: space, which another server may have
			// taken; it starts again once there is some.
			return e.Event(alert.Failed, name, name+" could not start: the filesystem of its tree is full for users (left4me-retry starts it again later)", why)
		}
		return e.Event(alert.StartRefused, name, name+": its start helper refused to start it", why)
	}
	// With Restart=on-failure a unit only enters "failed" (and starts its
	// OnFailure= units) once systemd stops restarting it: its start limit
	// (systemd.unit(5), OnFailure=; systemd#8398, #9158). So a crash
	// (exit-code, signal, core-dump) that reached here was a crash loop.
	if why := e.socketKill(ctx, unit, since.Add(-2*time.Minute)); (result == "exit-code" || result == "start-limit-hit") && why != "" {
		return e.socketEvent(name, why, "it kept doing so, and systemd gave up restarting it at its start limit (left4me-retry starts it again later)")
	}
	switch result {
	case "start-limit-hit", "exit-code", "signal", "core-dump":
		return e.Event(alert.StartLimit, name, fmt.Sprintf("%s kept crashing (%s): systemd gave up restarting it at its start limit (left4me-retry starts it again later)", name, result), hint)
	case "watchdog":
		return e.Event(alert.HangKill, name, name+e.hung(name)+": the watchdog killed it, and systemd gave up restarting it", hint)
	}
	return e.Event(alert.Failed, name, fmt.Sprintf("%s failed (%s)", name, strings.TrimSpace(result)), hint)
}

// helperErrors is what the start helper of unit logged as errors (priority
// err: diag.PrintError) since began, cut to maxDetail.
func (e *Env) helperErrors(ctx context.Context, unit string, began time.Time) string {
	var out, errb bytes.Buffer
	args := []string{"--unit", unit, "--identifier", "left4me-prestart", "--priority", "err", "--since", "@" + strconv.FormatInt(began.Unix(), 10),
		"--output", "cat", "--no-pager", "--quiet", "--lines", "10"}
	if e.Journal(ctx, args, &out, &errb) != nil {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l = termsafe.Line(l); l != "" && !slices.Contains(lines, l) { // each try said the same
			lines = append(lines, l)
		}
	}
	why := strings.Join(lines, "\n")
	if r := []rune(why); len(r) > maxDetail {
		why = string(r[:maxDetail]) + "…"
	}
	return why
}

// AlertFailure alerts that an operation failed, unless the operator ended
// it (Ctrl-C, SIGTERM). The error's text stays out: it may quote a
// builder's or steamcmd's output (an account name); where says where to
// read it.
func (e *Env) AlertFailure(ctx context.Context, err error, kind, name, summary, where string) {
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return
	}
	e.SendAlert(context.WithoutCancel(ctx), e.Event(kind, name, summary, "see: "+where))
}
