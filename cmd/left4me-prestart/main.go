// Command left4me-prestart is l4d2@.service's ExecStartPre=+ helper: it
// stages the instance's cfg files and mounts its overlayfs, following the
// start plan the generator wrote at the last daemon-reload.
// Usage: left4me-prestart NAME
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/internal/diag"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

func main() {
	const prog = "left4me-prestart"
	if len(os.Args) != 2 {
		fail(prog, errors.New("usage: left4me-prestart NAME | --check-disk"))
	}
	name := os.Args[1]
	if name == "--check-disk" {
		checkDisk(prog)
		return
	}
	// Leave the (possibly unmounted) merged dir systemd started us in.
	_ = unix.Chdir("/")
	c, err := prestart.ConfigFromEnv(os.Stdout)
	if err != nil {
		fail(prog, err)
	}
	p, err := readPlan(c.Layout, name)
	if err != nil {
		fail(prog, err)
	}
	// The server's own user, which systemd allocated for this start (a
	// plan of an invalid spec is refused by Start, saying why). Run by
	// hand, outside the unit, the instance's last user stands in, or the
	// shared left4me user for one never started (its unit's first start
	// hands the files to its own user).
	if len(p.Errors) == 0 {
		uid, gid, err := prestart.InstanceUser(prestart.DynamicUserSocket, "/etc/passwd", name)
		switch {
		case err == nil:
			c.UID, c.GID = uid, gid
		case os.Getenv("INVOCATION_ID") != "":
			fail(prog, err)
		default:
			if uid, gid, ok := prestart.LastUser(c.Layout, name); ok {
				c.UID, c.GID = uid, gid
			}
			fmt.Printf("run by hand: preparing %s for uid %d (its unit's start gives it to the server's own user)\n", name, c.UID)
		}
	}
	if os.Getenv("INVOCATION_ID") != "" {
		c.AutoRestarted = func() (bool, error) { return prestart.AutoRestarted(prestart.ManagerSocket, layout.Unit(name)) }
	}
	err = prestart.InHostMountNS(func() error { return prestart.Start(c, name, p) })
	if err == nil && os.Getenv("INVOCATION_ID") != "" {
		// In PID 1's namespace too: there the CLI finds the socket, and the
		// unit's own has /run/left4me read-only (TemporaryFileSystem=).
		// And the relay's only way to systemd: the unit hides the
		// notification socket's path from the server.
		err = prestart.InHostMountNS(func() error {
			return errors.Join(prestart.StoreConsole(layout.ConsoleDir, name, os.Getenv("NOTIFY_SOCKET")),
				prestart.StoreNotify(os.Getenv("NOTIFY_SOCKET")))
		})
		if err == nil {
			// And its cgroup limits, on the unit at each start: in its
			// drop-in a daemon-reload would apply them to the running
			// server. PID 1 not answering is no refusal of the spec:
			// Restart= may try again.
			if err := prestart.InHostMountNS(func() error {
				return prestart.SetLimits(prestart.ManagerSocket, layout.Unit(name), p.Limits)
			}); err != nil {
				diag.PrintError(os.Stderr, prog, err)
				os.Exit(1)
			}
		}
	}
	if err != nil {
		diag.PrintError(os.Stderr, prog, err)
		// A disk full for users is no refusal of the spec: freed, the
		// same start works, so Restart= and left4me-retry@ try again.
		if !errors.Is(err, prestart.ErrMountedReadOnly) {
			noRetry(name)
		}
		os.Exit(1)
	}
}

// noRetry ends the unit's start for good after a refusal: a start refused
// for its configuration (a stale or invalid spec, a missing overlay, an
// unsafe layer) is refused the same way every time, and Restart=on-failure
// would repeat it until StartLimitBurst. RestartPreventExitStatus= cannot
// stop that: it applies to the main process, not to ExecStartPre=
// (systemd/systemd#11868). A stop job queued now replaces the start job,
// so the unit ends inactive and `systemctl start` reports the job
// canceled; the refusal is in the journal once. Only under systemd.
func noRetry(name string) {
	if os.Getenv("INVOCATION_ID") == "" || layout.ValidateName(name) != nil {
		return
	}
	sc, err := exec.LookPath("systemctl")
	if err != nil {
		return
	}
	if out, err := exec.Command(sc, "stop", "--no-block", layout.Unit(name)).CombinedOutput(); err != nil {
		diag.PrintError(os.Stderr, "left4me-prestart", fmt.Errorf("could not end the start after the refusal (Restart= will retry it): %v: %s", err, out))
	}
}

// readPlan loads the plan from the directory l4d2@.service names (the
// generator's output directory), or systemd's default one.
func readPlan(l layout.Layout, name string) (startplan.Plan, error) {
	if err := layout.ValidateName(name); err != nil {
		return startplan.Plan{}, err
	}
	dir := os.Getenv(startplan.DirEnv)
	if dir == "" {
		dir = startplan.DefaultDir // run by hand
	}
	p, err := startplan.Read(startplan.Path(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return p, fmt.Errorf("%w for %s: %s did not exist at the last daemon-reload; create it (`left4me create`) or run `systemctl daemon-reload` if it is new", prestart.ErrNoPlan, name, l.SpecPath(name))
	}
	return p, err
}

// fail prints err for the journal or a terminal and exits 1.
func fail(prog string, err error) {
	diag.PrintError(os.Stderr, prog, err)
	os.Exit(1)
}

// checkDisk is left4me-disk.service: every running instance whose upper
// layer and dumps hold more than its disk ceiling is stopped (its next
// start is refused with the same message until space is freed). Game
// hosting panels stop a server over its disk quota too; a warning alone
// would let it fill the host's disk.
func checkDisk(prog string) {
	c, err := prestart.ConfigFromEnv(os.Stdout)
	if err != nil {
		fail(prog, err)
	}
	// A server's private /tmp and /var/tmp are on the host's disks.
	if c.PrivateTmp, err = prestart.HostPrivateTmp(); err != nil {
		fail(prog, err)
	}
	c.Proc = "/proc" // and files its processes deleted but keep open

	dir := os.Getenv(startplan.DirEnv)
	if dir == "" {
		dir = startplan.DefaultDir
	}
	over, errs, err := prestart.OverDisk(c, dir, func(dir, name string) (startplan.Plan, error) {
		return startplan.Read(startplan.Path(dir, name))
	})
	if err != nil {
		fail(prog, err)
	}
	for _, e := range errs {
		diag.PrintError(os.Stderr, prog, e)
	}
	for _, name := range over {
		fmt.Printf("stopping %s: over its disk ceiling\n", layout.Unit(name))
		if out, err := exec.Command("systemctl", "stop", "--no-block", layout.Unit(name)).CombinedOutput(); err != nil {
			diag.PrintError(os.Stderr, prog, fmt.Errorf("stop %s: %v: %s", name, err, out))
			continue
		}
		// A stop is no failure, so OnFailure= stays quiet: the operator is
		// told here (left4me alert unit finds this run's line above).
		if out, err := exec.Command("systemctl", "start", "--no-block", layout.AlertUnit(name)).CombinedOutput(); err != nil {
			diag.PrintError(os.Stderr, prog, fmt.Errorf("alert %s: %v: %s", name, err, out))
		}
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}
