package commands

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/units"
)

// procArgv reads a process's argv (/proc/PID/cmdline, readable by every
// user unless /proc is mounted with hidepid=).
func procArgv(pid uint32) ([]string, error) {
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

// down reports whether a unit has no server process that could have
// players: stopped, failed, waiting to restart, or not yet past its start
// helper.
func down(u control.Unit) bool {
	return u.ActiveState == "inactive" || u.ActiveState == "failed" || u.SubState == "auto-restart" || u.MainPID == 0
}

// runningAddr is where the server of a running unit answers A2S: read from
// its main process's command line, as it was started, never from the spec
// (which may have been edited since). A unit that is down gives
// rollout.ErrNotRunning.
func (e *Env) runningAddr(ctx context.Context, sd Systemd, name string) (string, error) {
	u, err := sd.Unit(ctx, unitOf(name))
	if err != nil {
		return "", err
	}
	if down(u) {
		return "", fmt.Errorf("%s is %s (%s): %w", unitOf(name), u.ActiveState, u.SubState, rollout.ErrNotRunning)
	}
	argv, err := e.ServerArgv(u.MainPID)
	if err != nil {
		return "", fmt.Errorf("command line of its main process %d: %w", u.MainPID, err)
	}
	addr, err := units.RunningAddr(argv)
	if err != nil {
		return "", fmt.Errorf("main process %d: %w", u.MainPID, err)
	}
	return addr, nil
}
