package commands

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/startplan"
)

type overlay struct {
	Path  string `json:"path"`
	Alias string `json:"alias,omitempty"`
}

// row is one instance as `list --json` prints it.
type row struct {
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
	// Stale: the spec changed since systemd last loaded it (no reload
	// yet); its port, overlays and the rest do not apply until one.
	Stale bool `json:"stale"`
	// Humans and Bots are what a running server answers (A2S_INFO);
	// absent when it is not running or does not answer.
	Humans   *int      `json:"humans,omitempty"`
	Bots     *int      `json:"bots,omitempty"`
	Overlays []overlay `json:"overlays"`
	Error    string    `json:"error,omitempty"` // the spec's problems
}

func listCmd(e *Env) *cli.Command {
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
	dir, err := e.specDir()
	if err != nil {
		return err
	}
	all, err := spec.LoadAll(dir)
	if err != nil {
		return fail.NeedsRoot(err, "reading "+dir)
	}
	states := e.unitStates(ctx, all)
	rows := make([]row, 0, len(all))
	for _, in := range all {
		r := row{Name: in.Name, File: in.File, State: "unknown", Overlays: []overlay{}}
		if u, ok := states[unitOf(in.Name)]; ok {
			r.State, r.SubState = u.ActiveState, u.SubState
		}
		r.Mounted, _ = rundir.Of(e.Layout, in.Name).Mounted()
		if in.Err != nil {
			r.Error = in.Err.Error()
		} else {
			r.Port, r.Ports, r.Autostart = in.Spec.Port, newPortSet(in.Spec.Ports), in.Spec.Autostart
			for _, o := range in.Spec.Overlays {
				r.Overlays = append(r.Overlays, overlay(o))
			}
			r.Stale = e.stale(in)
		}
		rows = append(rows, r)
	}
	e.countPlayers(ctx, all, rows)
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(e.Stdout, "no instances in %s; make one with `left4me create NAME --port N`\n", dir)
		return nil
	}
	t := table.New("NAME", "PORTS", "AUTOSTART", "STATE", "PLAYERS", "BOTS", "MOUNTED", "OVERLAYS")
	stale := false
	for _, r := range rows {
		cells, st := listCells(r)
		stale = stale || st
		t.Row(cells...)
	}
	if err := t.Write(e.Stdout, e.Color); err != nil {
		return err
	}
	if stale {
		fmt.Fprintln(e.Stdout, "* spec changed since systemd last loaded it: not in effect until `systemctl daemon-reload` (left4me start/restart reload by themselves)")
	}
	return nil
}

// listCells is one row of list's table; stale reports the mark on its
// port. Its text may come from another host (--host): it is escaped.
func listCells(r row) (cells []table.Cell, stale bool) {
	port, auto, ovl := r.Ports.text(r.Port), yesNo(r.Autostart), overlayList(r.Overlays)
	if r.Stale {
		port, stale = port+"*", true
	}
	if r.Error != "" {
		port, auto, ovl = "-", "-", "invalid spec: see `left4me validate "+r.Name+"`"
	}
	return []table.Cell{{Text: termsafe.Line(r.Name)}, {Text: port}, {Text: auto},
		{Text: termsafe.Line(r.State), Color: stateColor(r.State)}, {Text: count(r.Humans)}, {Text: count(r.Bots)},
		{Text: yesNo(r.Mounted)}, {Text: termsafe.Line(ovl)}}, stale
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

// countPlayers asks every running server at once for its humans and bots.
func (e *Env) countPlayers(ctx context.Context, all []spec.Instance, rows []row) {
	if e.ServerInfo == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, listTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range rows {
		if rows[i].State != "active" || all[i].Spec == nil {
			continue
		}
		addr := all[i].Spec.QueryAddr()
		wg.Go(func() {
			if info, err := e.ServerInfo(ctx, addr); err == nil {
				h, b := max(int(info.Players)-int(info.Bots), 0), int(info.Bots)
				rows[i].Humans, rows[i].Bots = &h, &b
			}
		})
	}
	wg.Wait()
}

func count(n *int) string {
	if n == nil {
		return "-"
	}
	return strconv.Itoa(*n)
}

// stale reports whether instance in's spec differs from the one the
// generator last made its start plan from (or has no plan yet). Without
// the right to read the plans (not root), nothing is reported stale.
func (e *Env) stale(in spec.Instance) bool {
	if e.PlanDir == "" {
		return false // where the generator writes is unknown
	}
	p, err := startplan.Read(startplan.Path(e.PlanDir, in.Name))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && !bytes.Equal(p.Spec, in.Spec.StartPlan().Spec)
}

// unitStates asks systemd for every instance's unit at once; without
// systemd the map is empty and the reason is noted.
func (e *Env) unitStates(ctx context.Context, all []spec.Instance) map[string]control.Unit {
	out := map[string]control.Unit{}
	if len(all) == 0 {
		return out
	}
	sd, err := e.connect(ctx)
	if err != nil {
		e.note("unit states are unknown: %v", err)
		return out
	}
	defer sd.Close()
	names := make([]string, len(all))
	for i, in := range all {
		names[i] = unitOf(in.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	us, err := sd.Units(ctx, names)
	if err != nil {
		e.note("unit states are unknown: %v", err)
	}
	for _, u := range us {
		out[u.Name] = u
	}
	return out
}

func overlayList(ovs []overlay) string {
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

func stateColor(s string) string {
	switch s {
	case "active":
		return table.Green
	case "failed":
		return table.Red
	case "activating", "deactivating", "reloading":
		return table.Yellow
	case "unknown":
		return table.Dim
	}
	return ""
}
