package prestart

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/left4me/left4me/spec/startplan"
)

// ManagerSocket is PID 1's own D-Bus socket (root's; no dbus-daemon
// needed), where SetLimits asks.
const ManagerSocket = "/run/systemd/private"

// limitsTimeout bounds the call: PID 1 answers at once unless it hangs.
const limitsTimeout = 30 * time.Second

// SetLimits sets the server's cgroup limits on unit, as `systemctl
// set-property --runtime` does (SetUnitProperties, runtime: written to
// /run/systemd/system.control, which outranks the generator's drop-in).
// They apply to the unit's cgroup now, before its main process starts,
// and a daemon-reload keeps them: the next start sets them again from
// the plan of its spec (startplan.Limits says why).
func SetLimits(socket, unit string, l startplan.Limits) error {
	if l.MemoryMax == 0 || l.TasksMax == 0 {
		// A plan from before the limits were in it (an upgrade not yet
		// reloaded): its drop-in still carries them. Never a limit of 0.
		return nil
	}
	var err error
	for try := 0; try < 3; try++ {
		if try > 0 {
			time.Sleep(time.Second) // PID 1 re-executing (a systemd upgrade)
		}
		if err = setLimits(socket, unit, l); err == nil {
			return nil
		}
	}
	return err
}

// dialManager connects to PID 1's private socket.
func dialManager(socket string) (*dbus.Conn, error) {
	conn, err := dbus.Dial("unix:path=" + socket)
	if err != nil {
		return nil, err
	}
	// PID 1's private socket is peer to peer: no Hello, as go-systemd.
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Geteuid()))}); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func setLimits(socket, unit string, l startplan.Limits) error {
	conn, err := dialManager(socket)
	if err != nil {
		return fmt.Errorf("set the limits of %s: %w", unit, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limitsTimeout)
	defer cancel()
	call := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").CallWithContext(ctx,
		"org.freedesktop.systemd1.Manager.SetUnitProperties", 0, unit, true, limitProps(l))
	if call.Err != nil {
		return fmt.Errorf("set the limits of %s: %w", unit, call.Err)
	}
	return nil
}

// property is one (sv) of SetUnitProperties' a(sv).
type property struct {
	Name  string
	Value dbus.Variant
}

// limitProps are l as unit properties. An unset CPU quota or weight is
// reset to systemd's default: USEC_INFINITY and CGROUP_WEIGHT_INVALID
// (UINT64_MAX, src/core/dbus-cgroup.c), so a limit a spec no longer sets
// does not linger from an earlier start.
func limitProps(l startplan.Limits) []property {
	quota, weight := uint64(math.MaxUint64), uint64(math.MaxUint64)
	if l.CPUQuota > 0 {
		quota = l.CPUQuota
	}
	if l.CPUWeight > 0 {
		weight = l.CPUWeight
	}
	return []property{
		{"MemoryMax", dbus.MakeVariant(l.MemoryMax)},
		{"TasksMax", dbus.MakeVariant(l.TasksMax)},
		{"CPUQuotaPerSecUSec", dbus.MakeVariant(quota)},
		{"CPUWeight", dbus.MakeVariant(weight)},
	}
}
