// Command left4me-poststop is l4d2@.service's ExecStopPost=+ helper: it
// unmounts the instance's overlayfs. Idempotent; runs after crashes too.
// When the server ended in a stop somebody asked for (a stop or restart
// job of PID 1's), it records that run for left4me retry.
// Usage: left4me-poststop NAME
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/dbus"
	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/internal/diag"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/layout"
)

func main() {
	const prog = "left4me-poststop"
	if len(os.Args) != 2 {
		fail(prog, errors.New("usage: left4me-poststop NAME"))
	}
	name := os.Args[1]
	_ = unix.Chdir("/") // a cwd inside merged would keep it busy
	// Unmounting needs no user: no user lookup, no spec, no YAML.
	c := prestart.Config{Layout: layout.FromEnv(), Log: os.Stdout}
	// Only a run whose server ran (systemd sets EXIT_CODE from its main
	// process): a start its helper refused queues a stop of its own. And
	// only a run that failed: left4me retry looks at no other, and a clean
	// stop (every server at a host's shutdown) is spared the D-Bus round
	// trip, about 57 ms of CPU per stop while thirty stop at once.
	if inv := os.Getenv("INVOCATION_ID"); inv != "" && os.Getenv("EXIT_CODE") != "" && os.Getenv("SERVICE_RESULT") != "success" && layout.ValidateName(name) == nil {
		asked, err := stopAsked(layout.Unit(name))
		if err == nil && asked {
			err = prestart.InHostMountNS(func() error { return prestart.RecordStop(c, name, inv) })
		}
		if err != nil {
			// The journal's "Stopping" entry still tells retry.
			diag.PrintError(os.Stderr, prog, fmt.Errorf("record whether this stop was asked for: %w", err))
		}
	}
	if err := prestart.InHostMountNS(func() error { return prestart.Stop(c, name) }); err != nil {
		fail(prog, err)
	}
}

// stopAsked tells whether PID 1 runs a stop or restart job of unit now,
// during its ExecStopPost=: the server ends because somebody asked.
func stopAsked(unit string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := dbus.NewSystemdConnectionContext(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	jobs, err := conn.ListJobsContext(ctx)
	if err != nil {
		return false, err
	}
	for _, j := range jobs {
		if j.Unit == unit && (j.JobType == "stop" || j.JobType == "restart" || j.JobType == "try-restart") {
			return true, nil
		}
	}
	return false, nil
}

// fail prints err for the journal or a terminal and exits 1.
func fail(prog string, err error) {
	diag.PrintError(os.Stderr, prog, err)
	os.Exit(1)
}
