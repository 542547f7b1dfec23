package control

import (
	"context"
	"encoding/hex"
	"time"
)

// Unit is what the CLI shows of a unit's state.
type Unit struct {
	Name        string
	LoadState   string // loaded, not-found, ...
	ActiveState string // active, inactive, failed, activating, ...
	SubState    string // running, dead, auto-restart, ...
	// Only filled by Conn.Unit:
	Result     string    // the service's last result: success, exit-code, ...
	Since      time.Time // last state change; zero when never
	MainPID    uint32
	NeedReload bool // the unit (or its spec, its SourcePath) changed on disk
	// Invocation is the ID of the unit's current or last run, in hex: a
	// failed unit keeps its failed run's until it starts again.
	Invocation string
	// MainRan: the main process started in the current or last run (not
	// one its ExecStartPre= refused).
	MainRan bool
	// Status is the service's status line, what its main process last
	// told systemd (sd_notify STATUS=, StatusText): a server's relay says
	// there whether it answers, and whether it hibernates.
	Status string
}

// Units returns the state of each named unit, loaded or not, in one call.
func (c *Conn) Units(ctx context.Context, names []string) ([]Unit, error) {
	st, err := c.c.ListUnitsByNamesContext(ctx, names)
	if err != nil {
		return nil, callError("list units", err)
	}
	out := make([]Unit, 0, len(st))
	for _, s := range st {
		out = append(out, Unit{Name: s.Name, LoadState: s.LoadState, ActiveState: s.ActiveState, SubState: s.SubState})
	}
	return out, nil
}

// Loaded returns the units systemd has in memory whose names match
// pattern (a glob, as systemctl list-units PATTERN): those of instances
// whose spec is gone too, while they run or stay failed.
func (c *Conn) Loaded(ctx context.Context, pattern string) ([]Unit, error) {
	st, err := c.c.ListUnitsByPatternsContext(ctx, nil, []string{pattern})
	if err != nil {
		return nil, callError("list units "+pattern, err)
	}
	out := make([]Unit, 0, len(st))
	for _, s := range st {
		out = append(out, Unit{Name: s.Name, LoadState: s.LoadState, ActiveState: s.ActiveState, SubState: s.SubState})
	}
	return out, nil
}

// Unit returns the detailed state of one service unit.
func (c *Conn) Unit(ctx context.Context, name string) (Unit, error) {
	u := Unit{Name: name}
	props, err := c.c.GetUnitPropertiesContext(ctx, name)
	if err != nil {
		return u, callError("state of "+name, err)
	}
	u.LoadState, _ = props["LoadState"].(string)
	u.ActiveState, _ = props["ActiveState"].(string)
	u.SubState, _ = props["SubState"].(string)
	u.NeedReload, _ = props["NeedDaemonReload"].(bool)
	if id, ok := props["InvocationID"].([]byte); ok {
		u.Invocation = hex.EncodeToString(id)
	}
	if us, ok := props["StateChangeTimestamp"].(uint64); ok && us > 0 {
		u.Since = time.UnixMicro(int64(us))
	}
	svc, err := c.c.GetUnitTypePropertiesContext(ctx, name, "Service")
	if err != nil {
		return u, callError("service state of "+name, err)
	}
	u.MainPID, _ = svc["MainPID"].(uint32)
	u.Result, _ = svc["Result"].(string)
	u.Status, _ = svc["StatusText"].(string)
	// The run began when the unit left inactive (an automatic restart
	// does not pass through it, so this is the first of a series).
	began, _ := props["InactiveExitTimestampMonotonic"].(uint64)
	main, _ := svc["ExecMainStartTimestampMonotonic"].(uint64)
	u.MainRan = main > 0 && main >= began
	return u, nil
}
