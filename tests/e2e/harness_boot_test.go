package e2e

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// joinCgroups is run by /bin/sh: it moves itself into the cgroups listed
// in L4M_E2E_CGROUPS and then becomes systemd-nspawn (see cgroupDirs).
const joinCgroups = `IFS='
'
for d in $L4M_E2E_CGROUPS; do echo $$ >"$d/cgroup.procs" || exit 1; done
exec "$@"`

// start launches systemd-nspawn in the background, its console going to
// c.console.
func (c *Container) start(t *testing.T) error {
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
		// output nspawn copies to our log file (the gettys that could
		// claim it are masked).
		"--console=read-only",
		"--bind=" + c.State + ":" + stateMount,
		// Arguments after -b -- go to the container's systemd: full unit
		// status on the console, shown when a boot fails.
		"-b", "--", "--show-status=yes",
	}
	cmd := exec.Command("systemd-nspawn", args...)
	if dirs, err := cgroupDirs(c.Name); err != nil {
		t.Logf("not isolating container cgroup (parallel containers would share one): %v", err)
	} else {
		c.cgroups = dirs
		cmd = exec.Command("/bin/sh", append([]string{"-c", joinCgroups, "sh", "systemd-nspawn"}, args...)...)
		cmd.Env = append(os.Environ(), "L4M_E2E_CGROUPS="+strings.Join(dirs, "\n"))
	}
	// nspawn hands TERM to the container's systemd; dumb means no colours
	// in the console log.
	cmd.Env = append(cmd.Environ(), "TERM=dumb")
	cmd.Stdout, cmd.Stderr = console, console
	// If the test binary dies without cleanups (go test -timeout), nspawn
	// gets SIGTERM and halts the container instead of leaving it running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	started := make(chan error)
	go func() {
		// Pdeathsig fires when the forking *thread* exits, not the
		// process, and Go ends the thread of any goroutine that exits
		// while locked to it. Forking from a goroutine of our own that
		// stays locked until nspawn is reaped pins that thread.
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
func (c *Container) waitRunning(t *testing.T, deadline time.Time) {
	t.Helper()
	for {
		select {
		case <-c.exited:
			c.bootFailed(t, "systemd-nspawn exited during boot: %v", c.nspawn.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			c.bootFailed(t, "container %s did not boot within %v", c.Name, bootTimeout)
		}
		if c.PID1 == 0 {
			if c.PID1 = findInit(c.nspawn.Process.Pid); c.PID1 == 0 {
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		out, err := c.run(ctx, "systemctl", "is-system-running", "--wait")
		cancel()
		switch state := strings.TrimSpace(out); state {
		case "running":
			return
		case "degraded":
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			failed, _ := c.run(ctx, "systemctl", "--failed", "--no-pager")
			cancel()
			t.Logf("container %s is degraded:\n%s", c.Name, failed)
			return
		case "", "offline", "initializing", "starting":
			// systemd is not accepting connections yet ("Failed to
			// connect to bus"); retry.
			time.Sleep(50 * time.Millisecond)
		default:
			c.bootFailed(t, "container %s is %q, not running (%v)", c.Name, state, err)
		}
	}
}

// bootFailed fails the test with the diagnostics in the message itself.
func (c *Container) bootFailed(t *testing.T, format string, args ...any) {
	t.Helper()
	c.logged = true
	t.Fatalf(format+"\n%s", append(args, c.diagnostics())...)
}

// diagnostics collects what explains a failure: failed units, pending
// jobs, the end of the journal and the end of the console.
func (c *Container) diagnostics() string {
	var b strings.Builder
	alive := c.PID1 != 0
	select {
	case <-c.exited:
		alive = false
	default:
	}
	for _, cmd := range [][]string{
		{"systemctl", "--failed", "--no-pager"},
		{"systemctl", "list-jobs", "--no-pager"},
		{"journalctl", "-b", "--no-pager", "-n", "150"},
	} {
		if !alive {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := c.run(ctx, cmd...)
		cancel()
		b.WriteString("$ " + strings.Join(cmd, " ") + "\n" + out)
		if err != nil {
			b.WriteString(err.Error() + "\n")
		}
	}
	data, err := os.ReadFile(c.console)
	if err != nil {
		return b.String() + "console: " + err.Error()
	}
	console := cleanConsole(string(data))
	if len(console) > 16<<10 {
		console = "...\n" + console[len(console)-16<<10:]
	}
	return b.String() + "console:\n" + console
}

var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*)?[A-Za-z]|\r`)

// cleanConsole makes the console readable in a test log: it strips
// terminal escapes and keeps only the last of systemd's repeated
// "Job ... running (Ns / ...)" progress lines.
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

// teardown stops the container and removes everything Boot set up. It
// copes with a Boot that failed halfway.
func (c *Container) teardown(t *testing.T) {
	if c.nspawn != nil {
		// Collected before stopping: afterwards there is no systemd to ask.
		if t.Failed() && !c.logged {
			t.Logf("diagnostics of %s:\n%s", c.Name, c.diagnostics())
		}
		c.stop(t)
	}
	if c.cgroups != nil {
		if err := removeCgroups(c.cgroups); err != nil {
			t.Errorf("remove container cgroups: %v", err)
		}
	}
	// Nothing should be mounted beneath the state dir on the host (the
	// container's mounts live in its own namespace), but make sure.
	if err := unmountUnder(c.State, false); err != nil {
		t.Errorf("unmount beneath state dir: %v", err)
	}
	if c.base != "" {
		if err := unmountUnder(c.base, true); err != nil {
			t.Errorf("unmount container root: %v", err)
		}
		// rmdir, not RemoveAll: should the tmpfs still be mounted, never
		// recurse into what could be an overlay of the host's root.
		if err := os.Remove(c.base); err != nil {
			t.Errorf("remove %s: %v", c.base, err)
		}
	}
}

// stop halts the container: SIGTERM makes nspawn send PID 1 its halt
// signal (SIGRTMIN+3), an orderly shutdown that takes well under a second
// here. If that hangs (a unit that ignores SIGTERM holds it for up to its
// stop timeout), kill PID 1, which kills every process in the container's
// PID namespace, and nspawn. Only a survivor of that is a test error.
func (c *Container) stop(t *testing.T) {
	select {
	case <-c.exited:
		return
	default:
	}
	c.nspawn.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return
	case <-time.After(30 * time.Second):
	}
	t.Logf("container %s did not halt within 30s; killing it", c.Name)
	if pid := findInit(c.nspawn.Process.Pid); pid != 0 {
		unix.Kill(pid, unix.SIGKILL)
	}
	c.nspawn.Process.Kill()
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("systemd-nspawn (pid %d) of %s did not exit", c.nspawn.Process.Pid, c.Name)
	}
}
