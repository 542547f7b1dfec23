package servers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

func StatusCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "spec summary, unit state, mount and the last log lines of one instance",
		ArgsUsage: "NAME",
		Description: `Exits like systemctl status: 0 when the instance runs, 3 when it does
not, 4 when there is no such instance.

` + fleetHelp + `
With --host it exits 3 when the instance does not run on every host that
answered.

Examples:
  left4me status srv1
  left4me status srv1 -n 30
  left4me status srv1 --json
  left4me status srv1 --host eu1.example.org --host na1.example.org`,
		Flags: append([]cli.Flag{
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Value: clienv.TailLines, Usage: "show the last `N` log lines"},
			&cli.BoolFlag{Name: "json", Usage: "print the state as JSON (no log lines)"},
			&cli.BoolFlag{Name: "no-pager", Usage: "accepted for systemctl's sake; left4me never pages"},
		}, hostFlags()...),
		BashComplete: e.CompleteNames,
		Action: clienv.OnName(func(c *cli.Context, name string) error {
			if c.IsSet("host") {
				return e.fleetStatus(c, name)
			}
			if c.Int("lines") < 0 {
				return fmt.Errorf("%w: -n %d: the number of lines must be 0 or more", fail.ErrUsage, c.Int("lines"))
			}
			return e.status(c.Context, name, c.Int("lines"), c.Bool("json"))
		}),
	}
}

// StatusJSON is `status --json`.
type StatusJSON struct {
	Name      string    `json:"name"`
	File      string    `json:"file"`
	Unit      string    `json:"unit"`
	Port      int       `json:"port,omitempty"`
	Ports     *portSet  `json:"ports,omitempty"`
	Autostart bool      `json:"autostart"`
	Overlays  []Overlay `json:"overlays"`
	Error     string    `json:"error,omitempty"` // the spec's problems
	State     string    `json:"state"`           // unknown without systemd
	SubState  string    `json:"sub_state,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	MainPID   uint32    `json:"main_pid,omitempty"`
	Result    string    `json:"result,omitempty"`
	// RetryAt: failed, and left4me-retry@NAME starts it again then.
	RetryAt *time.Time `json:"retry_at,omitempty"`
	Mounted bool       `json:"mounted"`
	Disk    *diskUse   `json:"disk,omitempty"` // see row
	Stale   bool       `json:"stale"`          // the spec changed since systemd loaded it
	// Where the running server answers, as started, and whether its spec
	// now makes another command line (see row).
	RunningAddress string        `json:"running_address,omitempty"`
	RunningPort    int           `json:"running_port,omitempty"`
	Outdated       bool          `json:"outdated"`
	Orphaned       bool          `json:"orphaned"` // runs (or failed) without a spec
	Schedule       *scheduleJSON `json:"schedule,omitempty"`
	Humans         *int          `json:"humans,omitempty"`
	Bots           *int          `json:"bots,omitempty"`
	Hibernating    bool          `json:"hibernating,omitempty"` // as list's Row
	// RestoreLeft: what a restore cut short left beside the upper layer
	// (backup.Left), or the restore under way.
	RestoreLeft string `json:"restore_left,omitempty"`
}

func (e *Env) status(ctx context.Context, name string, lines int, asJSON bool) error {
	path, err := e.Instance(name)
	orphan := false
	if errors.Is(err, fail.ErrUnknownInstance) {
		if sd, cerr := e.Connect(ctx); cerr == nil {
			orphan = e.IsOrphan(ctx, sd, name)
			sd.Close()
		}
	}
	if err != nil && !orphan {
		return err
	}
	unit := clienv.UnitOf(name)
	st := StatusJSON{Name: name, File: path, Unit: unit, State: "unknown", Overlays: []Overlay{}, Orphaned: orphan}
	t := &table.Table{Indent: "  "}
	var s *spec.Spec
	specErr := error(nil)
	if !orphan {
		s, specErr = spec.Judge(e.Layout, name)
	}
	switch {
	case orphan:
		t.Row(table.Cell{Text: "spec:"}, table.Cell{Text: "none: removed while its server runs (orphaned); `left4me stop " + name + "` stops it", Color: table.Red})
	case errors.Is(specErr, fs.ErrPermission):
		st.Error = specErr.Error()
		t.Row(table.Plain("spec:", path+" (not readable: permission denied; specs are root's, 0640)")...)
	case specErr != nil:
		st.Error = specErr.Error()
		t.Row(table.Plain("spec:", path)...)
		t.Row(table.Cell{Text: "problems:"}, table.Cell{Text: "invalid: see `left4me validate " + name + "`", Color: table.Red})
	default:
		st.Port, st.Ports, st.Autostart = s.Port, newPortSet(s.Ports), s.Autostart
		for _, o := range s.Overlays {
			st.Overlays = append(st.Overlays, Overlay(o))
		}
		t.Row(table.Plain("spec:", fmt.Sprintf("%s (port %s, autostart %s)", path, s.Ports, yesNo(s.Autostart)))...)
		t.Row(table.Plain("overlays:", overlayList(st.Overlays))...)
		var text string
		if st.Schedule, text = e.schedule(ctx, name, s.Schedule); text != "" {
			t.Row(table.Plain("schedule:", text)...)
		}
	}
	u, sdErr := e.UnitState(ctx, name)
	if sdErr != nil {
		t.Row(table.Cell{Text: "state:"}, table.Cell{Text: "unknown", Color: table.Dim})
	} else {
		st.State, st.SubState, st.Since, st.MainPID, st.Result = u.ActiveState, u.SubState, u.Since, u.MainPID, u.Result
		// The start plan where it can be read: systemd's flag is set by
		// every start too (PlanStaleKnown). An orphan has no spec to change.
		if stale, known := clienv.PlanStaleKnown(e.PlanDir, name, s); known {
			st.Stale = stale
		} else {
			st.Stale = u.NeedReload && !orphan
		}
		t.Row(table.Cell{Text: "state:"}, table.Cell{Text: e.describeState(u), Color: clienv.StateColor(u.ActiveState)})
		if u.MainPID != 0 {
			t.Row(table.Plain("main PID:", strconv.FormatUint(uint64(u.MainPID), 10))...)
		}
		if u.Result != "" && u.Result != "success" {
			t.Row(table.Cell{Text: "result:"}, table.Cell{Text: u.Result, Color: table.Red})
		}
		// As list: systemd gave up, left4me-retry@NAME starts it later.
		if r := e.ReadRetry(name); u.ActiveState == "failed" && r.Next.After(e.Now()) {
			st.RetryAt = &r.Next
			t.Row(table.Cell{Text: "retry:"}, table.Cell{Text: fmt.Sprintf("in %s, by left4me-retry@%s (`left4me stop %s` ends the retries)",
				r.Next.Sub(e.Now()).Round(time.Second), name, name), Color: table.Yellow})
		}
	}
	if sdErr == nil && !unitctl.Down(u) {
		if sd, err := e.Connect(ctx); err == nil {
			r := e.RunningServers(ctx, sd, []string{name}, map[string]*spec.Spec{name: s})[name]
			sd.Close()
			st.RunningAddress, st.RunningPort, st.Outdated = r.Addr, r.Port, r.Outdated && !orphan
			st.Hibernating = r.Hibernating && st.State == "active"
		}
		switch {
		case st.RunningAddress == "":
		case st.Outdated && s != nil && st.RunningPort != s.Port:
			t.Row(table.Cell{Text: "runs on:"}, table.Cell{Text: fmt.Sprintf("%s, as started; its spec now says port %d: `left4me restart %s` applies it", st.RunningAddress, s.Port, name), Color: table.Yellow})
		case st.Outdated:
			t.Row(table.Cell{Text: "runs on:"}, table.Cell{Text: st.RunningAddress + ", with an older version of its spec: `left4me restart " + name + "` applies it", Color: table.Yellow})
		default:
			t.Row(table.Plain("runs on:", st.RunningAddress)...)
		}
	}
	if st.State == "active" && st.RunningAddress != "" && e.ServerInfo != nil {
		ictx, cancel := context.WithTimeout(ctx, listTimeout)
		info, err := e.ServerInfo(ictx, st.RunningAddress)
		cancel()
		h, b := max(int(info.Players)-int(info.Bots), 0), int(info.Bots)
		// As list (countPlayers): an answer with humans on says it woke.
		st.Hibernating = st.Hibernating && (err != nil || h == 0)
		switch {
		case st.Hibernating:
			h, b = 0, 0
			st.Humans, st.Bots = &h, &b
			t.Row(table.Plain("players:", "0: it hibernates, as its console said (the engine hibernates only with nobody on)")...)
		case err == nil:
			st.Humans, st.Bots = &h, &b
			t.Row(table.Plain("players:", fmt.Sprintf("%d, and %d bot(s), on %s (left4me players %s)", h, b, info.Map, name))...)
		}
	}
	merged := e.Layout.MergedDir(name)
	st.Mounted = mounted(e.Layout, name)
	if st.Mounted {
		t.Row(table.Plain("mounted:", "yes, on "+merged)...)
	} else {
		t.Row(table.Plain("mounted:", "no")...)
	}
	if st.Disk = diskOf(e.Layout, name); st.Disk != nil {
		measured := " (measured " + st.Disk.MeasuredAt.Format("2006-01-02 15:04:05 MST") + ")"
		if s != nil {
			st.Disk.Ceiling = s.Resources.DiskBytes()
		}
		// A running server keeps the ceiling its start gave it over one
		// lowered since (prestart.OverDisk).
		if n, ok := rundir.Of(e.Layout, name).ReadCeiling(); st.Mounted && s != nil {
			if held := prestart.HeldCeiling(n, ok, st.Disk.Ceiling); held != st.Disk.Ceiling {
				measured += fmt.Sprintf("; its spec's lower %s from its next start", prestart.Size(st.Disk.Ceiling))
				st.Disk.Ceiling = held
			}
		}
		switch d := st.Disk; {
		case d.Ceiling > 0 && d.Bytes > d.Ceiling:
			// As the start helper and left4me-disk.service judge it
			// (prestart.checkDisk): over stops it and refuses its start.
			d.Over = true
			t.Row(table.Cell{Text: "disk:"}, table.Cell{Text: fmt.Sprintf("%s in its upper layer and crash dumps, more than its ceiling of %s%s: its start is refused until files are removed from %s (`left4me reset %s` removes all it wrote) or resources.disk is raised",
				d.text(), prestart.Size(d.Ceiling), measured, e.Layout.RuntimePart(name, layout.Upper), name), Color: table.Red})
		case d.Ceiling > 0:
			t.Row(table.Plain("disk:", d.text()+" of "+prestart.Size(d.Ceiling)+" in its upper layer and crash dumps"+measured)...)
		default:
			t.Row(table.Plain("disk:", d.text()+" in its upper layer and crash dumps"+measured)...)
		}
	}
	if text := restoreLeft(e.Layout, name); text != "" {
		st.RestoreLeft = text
		t.Row(table.Cell{Text: "restore:"}, table.Cell{Text: text, Color: table.Yellow})
	}
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.Stdout, "%s - %s\n", e.Paint(name, table.Bold), unit)
		if err := t.Write(e.Stdout, e.Color); err != nil {
			return err
		}
		if st.Stale {
			e.Note("the spec changed since systemd last loaded it; `left4me restart %s` reloads and applies it", name)
		}
		if lines > 0 {
			fmt.Fprintf(e.Stdout, "\nlast log lines:\n%s", e.Tail(ctx, unit, lines))
		}
	}
	if sdErr != nil {
		return sdErr
	}
	if u.ActiveState != "active" && u.ActiveState != "reloading" {
		return fail.Shown(fmt.Errorf("%s is %s: %w", name, u.ActiveState, fail.ErrNotRunning))
	}
	return nil
}

func IsActiveCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "is-active",
		Usage:     "print whether instances run; exit 0 only if all of them do",
		ArgsUsage: "NAME...",
		Description: `Like systemctl is-active: one state per instance (active, inactive,
failed, activating, ...); exit 0 when every one is active, 3 otherwise, 4
for an unknown instance.

Examples:
  left4me is-active srv1
  left4me is-active -q srv1 srv2`,
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print nothing; the exit code says it"}},
		BashComplete: e.CompleteNames,
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return fmt.Errorf("%w: is-active needs at least one instance name; e.g. left4me is-active srv1", fail.ErrUsage)
			}
			return e.isActive(c.Context, c.Args().Slice(), c.Bool("quiet"))
		},
	}
}

func (e *Env) isActive(ctx context.Context, names []string, quiet bool) error {
	for _, n := range names {
		if _, err := e.Instance(n); err != nil {
			return err
		}
	}
	sd, err := e.Connect(ctx)
	if err != nil {
		return err
	}
	defer sd.Close()
	units := make([]string, len(names))
	for i, n := range names {
		units[i] = clienv.UnitOf(n)
	}
	us, err := sd.Units(ctx, units)
	if err != nil {
		return err
	}
	all := true
	for _, u := range us {
		if !quiet {
			fmt.Fprintln(e.Stdout, u.ActiveState)
		}
		all = all && u.ActiveState == "active"
	}
	if !all {
		return fail.Shown(fmt.Errorf("not every instance is active: %w", fail.ErrNotRunning))
	}
	return nil
}

// describeState reads like systemctl's "Active:" line.
func (e *Env) describeState(u control.Unit) string {
	s := u.ActiveState + " (" + u.SubState + ")"
	if !u.Since.IsZero() {
		ago := e.Now().Sub(u.Since).Round(time.Second)
		s += fmt.Sprintf(" since %s; %s ago", u.Since.Format("2006-01-02 15:04:05 MST"), ago)
	}
	return s
}

// restoreLeft says what a restore of name cut short (a second Ctrl-C, a
// kill, a power cut) left beside its upper layer, and what removes it; or
// that a restore is under way. status only looks: the next command that
// acts on the instance removes it (unitctl.ClearRestoreLeft). Without root
// runtime/NAME cannot be read: nothing is said.
func restoreLeft(l layout.Layout, name string) string {
	if layout.ValidateName(name) != nil {
		return "" // an orphaned unit's name, never a path here
	}
	left, err := backup.FindLeft(l.RuntimeDir(name))
	if err != nil || !left.Any() {
		return ""
	}
	// A restore under way holds the instance's lock from before its note
	// to after it is gone; a pid in the note may since be another
	// process's (hostile review).
	fd, err := rundir.Of(l, name).Lock(rundir.NoWait)
	if errors.Is(err, layout.ErrLocked) {
		return fmt.Sprintf("a restore (begun by pid %d) is under way, or %s's lock is held otherwise (a start)", left.PID, name)
	}
	if err == nil {
		unix.Close(fd)
	}
	return fmt.Sprintf("%s; the next left4me restore, reset or delete of %s removes it", left, name)
}
