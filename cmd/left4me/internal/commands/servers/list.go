package servers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

type Overlay struct {
	Path  string `json:"path"`
	Alias string `json:"alias,omitempty"`
}

// Row is one instance as `list --json` prints it.
type Row struct {
	Name string `json:"name"`
	File string `json:"file"`
	Port int    `json:"port,omitempty"`
	// Ports is the whole set the server binds (absent from hosts that
	// predate it, and for an invalid spec).
	Ports     *portSet `json:"ports,omitempty"`
	Autostart bool     `json:"autostart"`
	State     string   `json:"state"` // unknown without systemd
	SubState  string   `json:"sub_state,omitempty"`
	Mounted   bool     `json:"mounted"`
	// Disk is the last measure of its upper layer and dumps (diskUse).
	Disk *diskUse `json:"disk,omitempty"`
	// Stale: the spec changed since systemd last loaded it (no reload
	// yet); its port, overlays and the rest do not apply until one.
	Stale bool `json:"stale"`
	// What a running server was started with: where it answers, and
	// whether that is no longer what its spec makes (a restart applies
	// the spec).
	RunningAddress string   `json:"running_address,omitempty"`
	RunningPort    int      `json:"running_port,omitempty"`
	RunningPorts   *portSet `json:"running_ports,omitempty"`
	Outdated       bool     `json:"outdated"`
	// Orphaned: the unit runs (or failed) but its spec file is gone.
	Orphaned bool `json:"orphaned"`
	// RetryAt: systemd gave up on it (failed); left4me-retry@NAME starts
	// it again then.
	RetryAt *time.Time `json:"retry_at,omitempty"`
	// Humans and Bots are what a running server answers (A2S_INFO), or
	// 0 when it hibernates; absent when it is not running, or answers
	// nothing and is not known to hibernate.
	Humans *int `json:"humans,omitempty"`
	Bots   *int `json:"bots,omitempty"`
	// Hibernating: its console said it hibernates (its relay's status
	// line, unitctl.Running), and no answer says anyone is on: an L4D2
	// server hibernates only with nobody on, and then answers no query.
	Hibernating bool `json:"hibernating,omitempty"`
	// RestoreLeft: what a restore cut short left beside the upper layer
	// (or that one is under way), as status says it; root only.
	RestoreLeft string    `json:"restore_left,omitempty"`
	Overlays    []Overlay `json:"overlays"`
	Error       string    `json:"error,omitempty"` // the spec's problems
	// Unreadable: the spec could not be read (permission denied: specs
	// are root's); nothing is known to be wrong with it.
	Unreadable bool `json:"unreadable,omitempty"`
}

func ListCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "one line per instance: port, autostart, unit state, mount, overlays",
		Description: `Works without systemd (the state is then "unknown").

` + fleetHelp + `

Examples:
  left4me list
  left4me list --json
  left4me list --host eu1.example.org --host na1.example.org`,
		Flags: append([]cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}}, hostFlags()...),
		Action: func(c *cli.Context) error {
			if c.IsSet("host") {
				if c.Args().Present() {
					return fmt.Errorf("%w: list takes no arguments", fail.ErrUsage)
				}
				return e.fleetList(c)
			}
			return e.list(c.Context, c.Bool("json"))
		},
	}
}

func (e *Env) list(ctx context.Context, asJSON bool) error {
	dir, err := e.SpecDir()
	if err != nil {
		return err
	}
	all, err := spec.LoadAllIn(e.Layout)
	if le := (spec.LimitsError{}); errors.As(err, &le) {
		e.Note("%v", err) // the specs were judged by the default ceilings
	} else if err != nil {
		return fail.NeedsRoot(err, "reading "+dir)
	}
	// Said where a root operator looks daily, not only at validate: a
	// hand-written spec left readable by every user may hold a password.
	for _, in := range all {
		s := in.Spec
		if s == nil {
			s = in.Parsed
		}
		if s == nil {
			continue
		}
		if w := clienv.SpecModeWarning(in.File, s); w != nil {
			e.Note("warning: %s: %v", in.File, w)
		}
	}
	// One connection for every question to systemd; without systemd,
	// states are unknown and nothing is known to run.
	var sd clienv.Systemd
	if c, err := e.Connect(ctx); err != nil {
		e.Note("unit states are unknown: %v", err)
	} else {
		sd = c
		defer sd.Close()
	}
	states := e.unitStates(ctx, sd, all)
	specs, names := map[string]*spec.Spec{}, make([]string, 0, len(all))
	for _, in := range all {
		specs[in.Name] = in.Spec
		names = append(names, in.Name)
	}
	orphans := e.Orphans(ctx, sd)
	for _, u := range orphans {
		names = append(names, unitctl.NameOfUnit(u.Name))
	}
	run := e.RunningServers(ctx, sd, names, specs)
	rows := make([]Row, 0, len(all)+len(orphans))
	for _, in := range all {
		r := Row{Name: in.Name, File: in.File, State: "unknown", Overlays: []Overlay{}}
		if u, ok := states[clienv.UnitOf(in.Name)]; ok {
			r.State, r.SubState = u.ActiveState, u.SubState
		}
		r.Mounted = mounted(e.Layout, in.Name)
		r.Disk = diskOf(e.Layout, in.Name)
		if in.Err != nil {
			r.Error = in.Err.Error()
			r.Unreadable = errors.Is(in.Err, fs.ErrPermission)
		} else {
			r.Port, r.Ports, r.Autostart = in.Spec.Port, newPortSet(in.Spec.Ports), in.Spec.Autostart
			for _, o := range in.Spec.Overlays {
				r.Overlays = append(r.Overlays, Overlay(o))
			}
			r.Stale = e.stale(in)
		}
		r.running(run)
		r.RestoreLeft = restoreLeft(e.Layout, in.Name)
		if st := e.ReadRetry(in.Name); r.State == "failed" && st.Next.After(e.Now()) {
			r.RetryAt = &st.Next
		}
		rows = append(rows, r)
	}
	for _, u := range orphans {
		r := Row{Name: unitctl.NameOfUnit(u.Name), State: u.ActiveState, SubState: u.SubState, Orphaned: true, Overlays: []Overlay{}}
		r.Mounted = mounted(e.Layout, r.Name)
		r.Disk = diskOf(e.Layout, r.Name)
		r.running(run)
		r.RestoreLeft = restoreLeft(e.Layout, r.Name)
		rows = append(rows, r)
	}
	// s2 before s10, orphans among the rest.
	slices.SortStableFunc(rows, func(a, b Row) int { return layout.CompareNames(a.Name, b.Name) })
	e.countPlayers(ctx, rows)
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(e.Stdout, "no instances in %s; make one with `left4me create NAME --port N`\n", dir)
		return nil
	}
	t := table.New("NAME", "PORTS", "AUTOSTART", "STATE", "PLAYERS", "BOTS", "MOUNTED", "DISK", "OVERLAYS")
	var notes []string
	for _, r := range rows {
		t.Row(listCells(r, e.Now())...)
		notes = append(notes, rowNotes(r)...)
	}
	if err := t.Write(e.Stdout, e.Color); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(e.Stdout, n)
	}
	return nil
}

// running fills in what the row's server runs with, if it runs.
func (r *Row) running(run map[string]unitctl.Running) {
	if x, ok := run[r.Name]; ok {
		r.RunningAddress, r.RunningPort, r.Outdated = x.Addr, x.Port, x.Outdated && !r.Orphaned
		r.RunningPorts = newPortSet(x.Ports)
		r.Hibernating = x.Hibernating && r.State == "active"
	}
}

// rowNotes explain a row's marks below the table, each naming its
// instance. Its text may come from another host (--host): it is escaped.
func rowNotes(r Row) []string {
	name := termsafe.Line(r.Name)
	var out []string
	if r.RestoreLeft != "" {
		out = append(out, fmt.Sprintf("~ %s: restore: %s", name, termsafe.Line(r.RestoreLeft)))
	}
	switch {
	case r.Orphaned:
		out = append(out, fmt.Sprintf("! %s: its spec is gone but its server still runs (or failed); `left4me stop %s` stops it", name, name))
	case r.Outdated && r.RunningPorts != nil && r.Ports != nil && *r.RunningPorts != *r.Ports:
		out = append(out, fmt.Sprintf("* %s: runs on ports %s, as started; its spec now says %s: `left4me restart %s` applies it",
			name, r.RunningPorts.text(r.RunningPort), r.Ports.text(r.Port), name))
	case r.Outdated:
		out = append(out, fmt.Sprintf("* %s: runs with an older version of its spec: `left4me restart %s` applies it", name, name))
	}
	if r.Stale && !r.Outdated {
		out = append(out, fmt.Sprintf("* %s: spec changed since systemd last loaded it: not in effect until `systemctl daemon-reload` (left4me start/restart reload by themselves)", name))
	}
	return out
}

// listCells is one row of list's table: the ports are those the server
// runs with while it runs, marked when that is not what its spec says now.
// Its text may come from another host (--host): it is escaped. A failed
// server to be retried says when, as of now.
func listCells(r Row, now time.Time) []table.Cell {
	port, auto, ovl := r.Ports.text(r.Port), yesNo(r.Autostart), overlayList(r.Overlays)
	if r.RunningPorts != nil {
		port = r.RunningPorts.text(r.RunningPort)
	}
	switch {
	case r.Orphaned:
		auto, ovl = "-", "orphaned: no spec"
		if r.RunningPorts == nil {
			port = "-"
		}
		port += "!"
	case r.Stale || r.Outdated:
		port += "*"
	}
	if r.Error != "" {
		auto, ovl = "-", "invalid spec: see `left4me validate "+r.Name+"`"
		if r.Unreadable {
			ovl = "spec not readable: permission denied (specs are root's)"
		}
		if r.RunningPort == 0 {
			port = "-"
		}
	}
	state := termsafe.Line(r.State)
	if r.Hibernating {
		state += ", hibernating"
	}
	if r.RestoreLeft != "" {
		state += ", ~restore" // its note below says what
	}
	if r.RetryAt != nil {
		state += ", retry in " + max(r.RetryAt.Sub(now), 0).Round(time.Second).String()
	}
	return []table.Cell{{Text: termsafe.Line(r.Name)}, {Text: port}, {Text: auto},
		{Text: state, Color: clienv.StateColor(r.State)}, {Text: clienv.Count(r.Humans)}, {Text: clienv.Count(r.Bots)},
		{Text: yesNo(r.Mounted)}, {Text: r.Disk.text()}, {Text: termsafe.Line(ovl)}}
}

// portSet is a spec.Ports as list and status --json print it.
type portSet struct {
	Game   int `json:"game"`
	Client int `json:"client"`
	TV     int `json:"tv"` // 0: SourceTV off (-nohltv)
	Steam  int `json:"steam"`
}

func newPortSet(p spec.Ports) *portSet { return &portSet{p.Game, p.Client, p.TV, p.Steam} }

// text is the set as list's PORTS column shows it, game/client/tv/steam
// ("-" for SourceTV off); just the port when a host sent no set.
func (p *portSet) text(port int) string {
	if p == nil {
		return strconv.Itoa(port)
	}
	tv := "-"
	if p.TV != 0 {
		tv = strconv.Itoa(p.TV)
	}
	return strconv.Itoa(p.Game) + "/" + strconv.Itoa(p.Client) + "/" + tv + "/" + strconv.Itoa(p.Steam)
}

// listTimeout bounds how long list waits for the servers' answers.
const listTimeout = 500 * time.Millisecond

// countPlayers asks every running server at once for its humans and bots,
// where it runs. One that hibernates has nobody on, bots included (the
// engine punts them as it hibernates), whether it answers or not; an
// answer with humans on says it no longer does.
func (e *Env) countPlayers(ctx context.Context, rows []Row) {
	for i := range rows {
		if rows[i].Hibernating {
			h, b := 0, 0
			rows[i].Humans, rows[i].Bots = &h, &b
		}
	}
	if e.ServerInfo == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range rows {
		if rows[i].State != "active" || rows[i].RunningAddress == "" {
			continue
		}
		addr := rows[i].RunningAddress
		wg.Go(func() {
			if info, err := e.ServerInfo(ctx, addr); err == nil {
				h, b := max(int(info.Players)-int(info.Bots), 0), int(info.Bots)
				rows[i].Humans, rows[i].Bots = &h, &b
				rows[i].Hibernating = rows[i].Hibernating && h == 0
			}
		})
	}
	wg.Wait()
}

// stale reports whether instance in's spec differs from the one the
// generator last made its start plan from (or has no plan yet). Without
// the right to read the plans (not root), nothing is reported stale.
func (e *Env) stale(in spec.Instance) bool { return clienv.PlanStale(e.PlanDir, in.Name, in.Spec) }

// unitStates asks systemd (sd, nil without one) for every instance's unit
// at once.
func (e *Env) unitStates(ctx context.Context, sd clienv.Systemd, all []spec.Instance) map[string]control.Unit {
	out := map[string]control.Unit{}
	if len(all) == 0 || sd == nil {
		return out
	}
	names := make([]string, len(all))
	for i, in := range all {
		names[i] = clienv.UnitOf(in.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, clienv.ConnectTimeout)
	defer cancel()
	us, err := sd.Units(ctx, names)
	if err != nil {
		e.Note("unit states are unknown: %v", err)
	}
	for _, u := range us {
		out[u.Name] = u
	}
	return out
}

func overlayList(ovs []Overlay) string {
	if len(ovs) == 0 {
		return "-"
	}
	parts := make([]string, len(ovs))
	for i, o := range ovs {
		parts[i] = o.Path
		if o.Alias != "" {
			parts[i] += "=" + o.Alias
		}
	}
	return strings.Join(parts, ",")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
