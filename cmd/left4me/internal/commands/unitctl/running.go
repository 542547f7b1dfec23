package unitctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/units"
)

// ProcArgv reads a process's argv (/proc/PID/cmdline, readable by every
// user unless /proc is mounted with hidepid=).
func ProcArgv(pid uint32) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/cmdline")
	if err != nil {
		return nil, err
	}
	var argv []string
	for _, a := range bytes.Split(bytes.TrimSuffix(b, []byte{0}), []byte{0}) {
		argv = append(argv, string(a))
	}
	return argv, nil
}

// Down reports whether a unit has no server process that could have
// players: stopped, failed, waiting to restart, or not yet past its start
// helper.
func Down(u control.Unit) bool {
	return u.ActiveState == "inactive" || u.ActiveState == "failed" || u.SubState == "auto-restart" || u.MainPID == 0
}

// RunningAddr is where the server of a running unit answers A2S: read from
// its main process's command line, as it was started, never from the spec
// (which may have been edited since). A unit that is down gives
// rollout.ErrNotRunning.
func (e *Env) RunningAddr(ctx context.Context, sd clienv.Systemd, name string) (string, error) {
	addr, _, err := e.RunningUnit(ctx, sd, name)
	return addr, err
}

// RunningUnit is RunningAddr and the unit's state as it was read (its
// status line among it), in one call to systemd.
func (e *Env) RunningUnit(ctx context.Context, sd clienv.Systemd, name string) (string, control.Unit, error) {
	u, err := sd.Unit(ctx, clienv.UnitOf(name))
	if err != nil {
		return "", u, err
	}
	if Down(u) {
		return "", u, fmt.Errorf("%s is %s (%s): %w", clienv.UnitOf(name), u.ActiveState, u.SubState, rollout.ErrNotRunning)
	}
	argv, err := e.ServerArgv(u.MainPID)
	if err != nil {
		return "", u, fmt.Errorf("command line of its main process %d: %w", u.MainPID, err)
	}
	addr, err := units.RunningAddr(argv)
	if err != nil {
		return "", u, fmt.Errorf("main process %d: %w", u.MainPID, err)
	}
	return addr, u, nil
}

// Running is what a running server was started with, as far as the CLI
// shows it.
type Running struct {
	Addr  string // where it answers A2S (RunningAddr)
	Port  int
	Ports spec.Ports // the whole set (RunningPorts)
	// Outdated: its command line is not the one its spec makes now (the
	// spec was edited since it started): a restart applies it. Unknown,
	// and false, when the spec cannot be read.
	Outdated bool
	// Hibernating: its relay's status line says that its console said it
	// hibernates (probe.Hibernating), so nobody is on it.
	Hibernating bool
}

// RunningServers reads, for each named instance whose unit has a main
// process, where it really runs; s maps names to their current specs
// (nil for a missing or invalid one). Instances that do not run, or whose
// command line cannot be read, are left out.
func (e *Env) RunningServers(ctx context.Context, sd clienv.Systemd, names []string, specs map[string]*spec.Spec) map[string]Running {
	out := map[string]Running{}
	if len(names) == 0 || e.ServerArgv == nil || sd == nil {
		return out
	}
	for _, n := range names {
		u, err := sd.Unit(ctx, clienv.UnitOf(n))
		if err != nil || Down(u) {
			continue
		}
		argv, err := e.ServerArgv(u.MainPID)
		if err != nil {
			continue
		}
		addr, err := units.RunningAddr(argv)
		if err != nil {
			continue
		}
		r := Running{Addr: addr, Hibernating: probe.Hibernating(u.Status)}
		r.Ports, _ = units.RunningPorts(argv)
		r.Port, _ = strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
		if s := specs[n]; s != nil {
			r.Outdated = !sameCommand(argv, units.Command(e.Layout, n, s))
		}
		out[n] = r
	}
	return out
}

// sameCommand reports whether a process's argv ends with the server's
// command line cmd (the relay's own argv comes before it).
func sameCommand(argv, cmd []string) bool {
	i := slices.Index(argv, cmd[0])
	return i >= 0 && slices.Equal(argv[i:], cmd)
}

// Orphans are the instances whose unit runs (or failed) while their spec
// file is gone: removed by hand. Nothing would show or stop them otherwise.
func (e *Env) Orphans(ctx context.Context, sd clienv.Systemd) []control.Unit {
	if sd == nil {
		return nil
	}
	us, err := sd.Loaded(ctx, "l4d2@*.service")
	if err != nil {
		return nil
	}
	var out []control.Unit
	for _, u := range us {
		n := NameOfUnit(u.Name)
		if n == "" || u.ActiveState == "inactive" {
			continue
		}
		if _, err := os.Lstat(e.Layout.SpecPath(n)); errors.Is(err, fs.ErrNotExist) {
			out = append(out, u)
		}
	}
	return out
}

// NameOfUnit is the instance name of l4d2@NAME.service, "" for anything
// else.
func NameOfUnit(unit string) string {
	n, ok := strings.CutPrefix(unit, "l4d2@")
	n, ok2 := strings.CutSuffix(n, ".service")
	if !ok || !ok2 || layout.ValidateName(n) != nil {
		return ""
	}
	return n
}

// IsOrphan reports whether name's unit runs (or failed) without a spec.
func (e *Env) IsOrphan(ctx context.Context, sd clienv.Systemd, name string) bool {
	for _, u := range e.Orphans(ctx, sd) {
		if NameOfUnit(u.Name) == name {
			return true
		}
	}
	return false
}

// runningClash refuses, before anything is stopped, a start of name whose
// spec names a port another running server holds, as its command line
// says: spec.ClaimPorts judges by the start helper's records, which a
// server started before they existed (an upgrade) does not have, and a
// restart must never stop a healthy server for a start that cannot bind.
func (e *Env) runningClash(ctx context.Context, sd clienv.Systemd, name string) error {
	if e.ServerArgv == nil || sd == nil {
		return nil
	}
	s, err := spec.Judge(e.Layout, name)
	if err != nil || s == nil {
		return nil // preflight said what is wrong, or there is nothing to judge
	}
	us, err := sd.Loaded(ctx, "l4d2@*.service")
	if err != nil {
		return nil
	}
	for _, u := range us {
		other := NameOfUnit(u.Name)
		if other == "" || other == name || Down(u) || u.MainPID == 0 {
			continue
		}
		argv, err := e.ServerArgv(u.MainPID)
		if err != nil {
			continue
		}
		held, err := units.RunningPorts(argv)
		if err != nil {
			continue
		}
		for _, rp := range s.Ports.List() {
			if held.Has(rp.Port) {
				return fmt.Errorf("%w: %s's %s port %d is held by the running server %s (as it was started); nothing was done: pick another port in %s, or stop %s first",
					fail.ErrJobFailed, name, rp.Role, rp.Port, other, e.Layout.SpecPath(name), other)
			}
		}
	}
	return nil
}
