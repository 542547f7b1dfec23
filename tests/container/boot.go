package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// joinCgroups is run by /bin/sh: it moves itself into the cgroups listed
// in L4M_CGROUPS and then becomes systemd-nspawn (see cgroupDirs).
const joinCgroups = `IFS='
'
for d in $L4M_CGROUPS; do echo $$ >"$d/cgroup.procs" || exit 1; done
exec "$@"`

// start launches systemd-nspawn in the background, its console going to
// c.console.
func (c *Container) start() error {
	console, err := os.Create(c.console)
	if err != nil {
		return err
	}
	defer console.Close()
	args := []string{
		"-D", c.Root, "--machine=" + c.Name,
		// No machined or systemd on the host to register with; stay in
		// the cgroup we were started in (see cgroupDirs).
		"--register=no", "--keep-unit",
		"--private-network",
		// Never touch the host's /var/log/journal.
		"--link-journal=no",
		// With --console=pipe the container has no /dev/console and
		// systemd's status output is lost; read-only gives it a pty whose
		// output nspawn copies to the console log (the gettys that could
		// claim it are masked).
		"--console=read-only",
		// nspawn's own seccomp filter, under everything in the container,
		// is an allow list that in systemd 252 lacks Landlock (its
		// processes get EPERM, measured: one run under `systemd-run` with
		// no property at all). A host has no such filter, so the
		// container allows what l4d2@'s own filter allows
		// (units.Template, SystemCallFilter=landlock_*).
		"--system-call-filter=landlock_create_ruleset landlock_restrict_self",
		"--bind=" + c.State + ":" + StateMount,
		// Arguments after -b -- go to the container's systemd: full unit
		// status on the console, shown when a boot fails.
		"-b", "--", "--show-status=yes",
	}
	cmd := exec.Command("systemd-nspawn", args...)
	if dirs, err := cgroupDirs(c.Name); err != nil {
		c.logf("not isolating container cgroup (parallel containers would share one): %v", err)
	} else {
		c.cgroups = dirs
		cmd = exec.Command("/bin/sh", append([]string{"-c", joinCgroups, "sh", "systemd-nspawn"}, args...)...)
		cmd.Env = append(os.Environ(), "L4M_CGROUPS="+strings.Join(dirs, "\n"))
	}
	// nspawn hands TERM to the container's systemd; dumb means no colours
	// in the console log.
	cmd.Env = append(cmd.Environ(), "TERM=dumb")
	cmd.Stdout, cmd.Stderr = console, console
	// Own process group: a terminal's Ctrl-C reaches only us, and we halt
	// the container in order. Pdeathsig: if we are killed outright, nspawn
	// gets SIGTERM and halts the container instead of leaving it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	started := make(chan error)
	go func() {
		// Pdeathsig fires when the forking *thread* exits; a goroutine
		// that stays locked to it until nspawn is reaped pins that thread.
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			cmd.Wait()
		}
		close(c.exited)
	}()
	if err := <-started; err != nil {
		return err
	}
	c.nspawn = cmd
	return nil
}

// waitRunning waits until systemd in the container has finished booting.
func (c *Container) waitRunning(ctx context.Context) error {
	for {
		if c.Exited() {
			return fmt.Errorf("systemd-nspawn exited during boot: %v", c.nspawn.ProcessState)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("container %s did not boot: %w", c.Name, err)
		}
		if c.PID1 == 0 {
			if c.PID1 = findInit(c.nspawn.Process.Pid); c.PID1 == 0 {
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		out, err := c.Run(ctx, "systemctl", "is-system-running", "--wait")
		switch state := strings.TrimSpace(out); state {
		case "running":
			return nil
		case "degraded":
			failed, _ := c.Run(context.WithoutCancel(ctx), "systemctl", "--failed", "--no-pager")
			c.logf("container %s is degraded:\n%s", c.Name, failed)
			return nil
		case "", "offline", "initializing", "starting":
			// Not accepting connections yet ("Failed to connect to bus").
			time.Sleep(50 * time.Millisecond)
		default:
			return fmt.Errorf("container %s is %q, not running (%v)", c.Name, state, err)
		}
	}
}

// Stop halts the container: SIGTERM makes nspawn send PID 1 its halt
// signal (SIGRTMIN+3), an orderly shutdown that stops the game servers
// cleanly. Early in the boot systemd has no handler for it yet and the
// kernel drops it (PID 1 of a namespace), hence the repeats. If that hangs
// (a unit that ignores SIGTERM holds it for up to its stop timeout),
// killing PID 1 kills every process of the container; killed reports
// that. Only a systemd-nspawn that survives even that is an error. Stop
// does nothing for a container that was never started or already stopped.
func (c *Container) Stop() (killed bool, err error) {
	if c.nspawn == nil || c.stopped {
		return false, nil
	}
	c.stopped = true
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	timeout := time.After(haltTimeout)
	for halted := false; !halted; {
		if c.Exited() {
			return false, nil
		}
		c.nspawn.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
			return false, nil
		case <-tick.C:
		case <-timeout:
			halted = true
		}
	}
	if pid := findInit(c.nspawn.Process.Pid); pid != 0 {
		unix.Kill(pid, unix.SIGKILL)
	}
	c.nspawn.Process.Kill()
	select {
	case <-c.exited:
		return true, nil
	case <-time.After(10 * time.Second):
		return true, fmt.Errorf("systemd-nspawn (pid %d) of %s did not exit", c.nspawn.Process.Pid, c.Name)
	}
}

var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*)?[A-Za-z]|\r`)

// cleanConsole makes the console readable in a log: it strips terminal
// escapes and keeps only the last of systemd's repeated "Job ...
// running (Ns / ...)" progress lines.
func cleanConsole(s string) string {
	lines := strings.Split(ansiEscape.ReplaceAllString(s, ""), "\n")
	var out []string
	for i, l := range lines {
		progress := strings.Contains(l, "] Job ") && strings.Contains(l, " running (")
		if progress && i+1 < len(lines) && strings.Contains(lines[i+1], "] Job ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// PowerCut ends the container as a power cut ends a host: SIGKILL to its
// PID 1 takes down every process of its PID namespace at once, so no unit
// is stopped, no ExecStopPost runs and no helper unmounts; its mounts go
// with its mount namespace. The root and the state directory keep what
// was written, for Reboot. What it cannot show: the host's page cache
// survives, so data that was written but never fsynced is not lost as it
// would be on a real power cut.
func (c *Container) PowerCut() error {
	if c.nspawn == nil || c.Exited() {
		return errors.New("power cut: the container is not running")
	}
	if pid := findInit(c.nspawn.Process.Pid); pid != 0 {
		unix.Kill(pid, unix.SIGKILL)
	} else {
		c.nspawn.Process.Kill()
	}
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.nspawn.Process.Kill()
		<-c.exited
	}
	c.stopped = true
	return nil
}

// Reboot boots the container again, after Stop or PowerCut, on the same
// root and state directory: what persisted is what the next boot finds.
func (c *Container) Reboot(ctx context.Context, timeout time.Duration) error {
	if c.nspawn == nil || !c.Exited() {
		return errors.New("reboot: the container still runs; Stop or PowerCut it first")
	}
	if c.cgroups != nil {
		if err := removeCgroups(c.cgroups); err != nil {
			return fmt.Errorf("reboot: remove the old cgroups: %w", err)
		}
		c.cgroups = nil
	}
	c.exited, c.stopped, c.PID1, c.nspawn = make(chan struct{}), false, 0, nil
	return c.Boot(ctx, timeout)
}
