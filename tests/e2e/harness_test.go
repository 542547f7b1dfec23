// Package e2e runs left4me against a real systemd: each test boots a
// throw-away systemd-nspawn container whose root is a copy-on-write
// overlay of the host's own root filesystem, so no image has to be built.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// bootTimeout bounds the whole boot; a healthy boot takes about a second.
	bootTimeout = 60 * time.Second
	// runTimeout keeps a hung command inside the container from hanging
	// the test binary until go test's global timeout (which skips cleanups).
	runTimeout = 2 * time.Minute
	// stateMount is where Options.State appears inside the container.
	stateMount = "/var/lib/left4me"
)

// Options describes what to put into a container before it boots.
type Options struct {
	// State is a host directory bound to /var/lib/left4me, created by the
	// caller. It must be on a real filesystem (not overlayfs) because the
	// project mounts overlays inside it. Empty means a fresh t.TempDir().
	State string
	// Install copies the project into root (the container's future /),
	// e.g. `make install DESTDIR=root PREFIX=/usr`. Optional.
	Install func(root string) error
	// Setup runs after Install, e.g. to write /etc/left4me/instances/*.yaml
	// into root. Optional.
	Setup func(root string) error
}

// Container is a booted systemd-nspawn container; it is stopped and all of
// its mounts are removed by t.Cleanup.
type Container struct {
	Root  string // container root as seen from the host (overlay mount)
	State string // host directory bound to /var/lib/left4me
	PID1  int    // host PID of the container's systemd
	Name  string // machine name, also the container's hostname

	base    string        // tmpfs holding the overlay upper/work dirs and Root
	console string        // nspawn stdout/stderr (the container console)
	nspawn  *exec.Cmd     // the systemd-nspawn process
	cgroups []string      // per-container cgroups nspawn was started in
	logged  bool          // diagnostics already reported (boot failure)
	exited  chan struct{} // closed once nspawn has been reaped
}

// requireE2E skips the test unless the host can run the containers. With
// CI=true a missing prerequisite fails instead, so CI cannot go green by
// silently skipping every end-to-end test.
func requireE2E(t *testing.T) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("e2e prerequisite missing (CI=true): "+format, args...)
		}
		t.Skipf("e2e prerequisite missing: "+format, args...)
	}
	if os.Geteuid() != 0 {
		missing("must run as root (mounts, systemd-nspawn)")
	}
	for _, bin := range []string{"systemd-nspawn", "nsenter", "systemctl", "journalctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing("%s not found in PATH", bin)
		}
	}
	if _, err := os.Stat("/lib/systemd/systemd"); err != nil {
		missing("systemd is not installed: %v", err)
	}
	if err := probeOverlay(); err != nil {
		missing("overlayfs over / is not usable: %v", err)
	}
}

// Boot mounts a fresh overlay root, installs the project into it, boots
// systemd in it and waits until the system is running.
func Boot(t *testing.T, opt Options) *Container {
	t.Helper()
	requireE2E(t)
	sweepStale(t)
	if opt.State == "" {
		opt.State = t.TempDir()
	}
	if err := checkStateDir(opt.State); err != nil {
		t.Fatal(err)
	}
	c := &Container{State: opt.State, Name: machineName(), exited: make(chan struct{})}
	// Registered before anything is mounted so a failing step below
	// still unmounts whatever was set up.
	t.Cleanup(func() { c.teardown(t) })
	if err := c.mountRoot(); err != nil {
		t.Fatalf("mount container root: %v", err)
	}
	if err := prepareRoot(c.Root, c.Name); err != nil {
		t.Fatalf("prepare container root: %v", err)
	}
	for _, step := range []struct {
		name string
		fn   func(string) error
	}{{"Install", opt.Install}, {"Setup", opt.Setup}} {
		if step.fn == nil {
			continue
		}
		if err := step.fn(c.Root); err != nil {
			t.Fatalf("%s into %s: %v", step.name, c.Root, err)
		}
	}
	start := time.Now()
	if err := c.start(t); err != nil {
		t.Fatalf("start systemd-nspawn: %v", err)
	}
	c.waitRunning(t, start.Add(bootTimeout))
	t.Logf("container %s booted in %v (PID 1 = host PID %d)", c.Name, time.Since(start).Round(time.Millisecond), c.PID1)
	return c
}

// Run runs a command inside the container (all of PID 1's namespaces) and
// returns its stdout. A non-zero exit becomes an error carrying stderr.
func (c *Container) Run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	return c.run(ctx, args...)
}

// MustRun is Run that fails the test on error.
func (c *Container) MustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.Run(t, args...)
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s", err, out)
	}
	return out
}

// Journal returns the journal of unit inside the container. It is meant
// for diagnostics, so a journalctl failure is reported in the text rather
// than failing the test.
func (c *Container) Journal(t *testing.T, unit string) string {
	t.Helper()
	out, err := c.Run(t, "journalctl", "-u", unit, "--no-pager", "-o", "cat")
	if err != nil {
		out += fmt.Sprintf("\n(journalctl failed: %v)", err)
	}
	return out
}

// WaitFor polls cond until it returns true, failing the test with what
// after timeout.
func (c *Container) WaitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Netns runs fn on the calling goroutine, pinned to an OS thread that has
// joined the container's network namespace, so 127.0.0.1 is the
// container's loopback. Sockets keep the namespace they were created in,
// so create them inside fn; goroutines started by fn run on other threads
// and are NOT in the container's namespace.
func (c *Container) Netns(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	// thread-self, not self: namespaces are per thread and the locked
	// thread is usually not the main thread.
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("open own netns: %v", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open("/proc/"+strconv.Itoa(c.PID1)+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Setns(target, unix.CLONE_NEWNET)
		unix.Close(target)
	}
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("enter container netns: %v", err)
	}
	// Deferred so that t.Fatal or a panic inside fn also restores.
	defer func() {
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Stay locked: the runtime then discards the thread when the
			// goroutine ends instead of reusing it in the wrong namespace.
			t.Fatalf("restore host netns: %v", err)
		}
		runtime.UnlockOSThread()
	}()
	fn()
}

// run is Run without a *testing.T, used during boot and teardown.
func (c *Container) run(ctx context.Context, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("run: no command")
	}
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.PID1), "-a", "--"}, args...)...)
	// A fixed environment: the test's own (GOFLAGS, TMPDIR, ...) means
	// nothing inside the container and would make commands behave
	// differently on different hosts.
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "TERM=dumb",
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// nsenter forks to enter the PID namespace; killing only nsenter on
	// timeout would leave the command running in the container, holding
	// our pipes. Its own process group lets us find the command (and
	// what it started) and kill that, while nsenter stays to reap it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if killGroupBut(cmd.Process.Pid) == 0 { // not forked yet
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("in container %s: %q: %w; stderr: %s", c.Name, args, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
