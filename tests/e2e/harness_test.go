// Package e2e runs left4me against a real systemd: each test boots a
// throw-away systemd-nspawn container whose root is a copy-on-write
// overlay of the host's own root filesystem, so no image has to be built.
//
// The container recipe is package tests/container (shared with the demo);
// this harness adapts it to *testing.T.
package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/container"
)

const (
	// bootTimeout bounds the whole boot; a healthy boot takes about a second.
	bootTimeout = 60 * time.Second
	// stateMount is where Options.State appears inside the container.
	stateMount = container.StateMount
	// prefix names the harness's containers, mounts and cgroups; the test
	// binary's PID follows, so sweepStale can tell a crashed run's.
	prefix = "left4me-e2e-"
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

	ct     *container.Container
	logged bool // diagnostics already reported (boot failure)
}

// requireE2E skips the test unless the host can run the containers. With
// CI=true a missing prerequisite fails instead, so CI cannot go green by
// silently skipping every end-to-end test.
func requireE2E(t *testing.T) {
	t.Helper()
	probs := container.Check(prefix, "go test ./tests/e2e/")
	if len(probs) == 0 {
		return
	}
	var msgs []string
	for _, p := range probs {
		msgs = append(msgs, p.What+" (fix: "+p.Fix+")")
	}
	msg := strings.Join(msgs, "; ")
	if os.Getenv("CI") == "true" {
		t.Fatalf("e2e prerequisite missing (CI=true): %s", msg)
	}
	t.Skipf("e2e prerequisite missing: %s", msg)
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
	ct, err := container.New(container.Options{Prefix: prefix, State: opt.State, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	c := &Container{Root: ct.Root, State: ct.State, Name: ct.Name, ct: ct}
	// Registered before booting so a failing step below still stops the
	// container and unmounts whatever was set up.
	t.Cleanup(func() { c.teardown(t) })
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
	if err := ct.Boot(context.Background(), bootTimeout); err != nil {
		// The error carries the diagnostics.
		c.logged = true
		t.Fatal(err)
	}
	c.PID1 = ct.PID1
	t.Logf("container %s booted in %v (PID 1 = host PID %d)", c.Name, time.Since(start).Round(time.Millisecond), c.PID1)
	return c
}

// teardown stops the container and removes everything Boot set up.
func (c *Container) teardown(t *testing.T) {
	// Collected before stopping: afterwards there is no systemd to ask.
	if t.Failed() && !c.logged {
		if d := c.ct.Diagnostics(); d != "" {
			t.Logf("diagnostics of %s:\n%s", c.Name, d)
		}
	}
	// Stopped here rather than by Close: a container that had to be
	// killed (a unit ignoring SIGTERM) is no test error.
	killed, err := c.ct.Stop()
	if killed {
		t.Logf("container %s did not halt in time; killed it", c.Name)
	}
	if err != nil {
		t.Error(err)
	}
	if err := c.ct.Close(); err != nil {
		t.Errorf("tear down container %s: %v", c.Name, err)
	}
}

// Run runs a command inside the container (all of PID 1's namespaces) and
// returns its stdout. A non-zero exit becomes an error carrying stderr.
func (c *Container) Run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return c.ct.Run(context.Background(), args...)
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
		out += "\n(journalctl failed: " + err.Error() + ")"
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
// and are NOT in the container's namespace. t.Fatal inside fn is fine.
func (c *Container) Netns(t *testing.T, fn func()) {
	t.Helper()
	if err := c.ct.Netns(fn); err != nil {
		t.Fatal(err)
	}
}

// mountsUnder lists mount points beneath dir (and dir itself if
// includeSelf), deepest first.
func mountsUnder(dir string, includeSelf bool) ([]string, error) {
	return container.MountsUnder(dir, includeSelf)
}

// sweepStale removes mounts and cgroups left by a test binary that died
// without running its cleanups (e.g. killed by go test -timeout).
func sweepStale(t *testing.T) {
	t.Helper()
	swept, err := container.Sweep(prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range swept {
		t.Logf("swept stale e2e leftover %s (%v)", s.Path, s.Err)
	}
}

// PowerCut kills the container outright (see container.PowerCut); Reboot
// boots it again on what persisted.
func (c *Container) PowerCut(t *testing.T) {
	t.Helper()
	if err := c.ct.PowerCut(); err != nil {
		t.Fatal(err)
	}
	c.PID1 = 0
}

// Reboot boots the container again after PowerCut or Halt, on the same
// root and state.
func (c *Container) Reboot(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := c.ct.Reboot(context.Background(), bootTimeout); err != nil {
		c.logged = true
		t.Fatal(err)
	}
	c.PID1 = c.ct.PID1
	t.Logf("container %s rebooted in %v", c.Name, time.Since(start).Round(time.Millisecond))
}

// Halt shuts the container down in order, as `poweroff` would.
func (c *Container) Halt(t *testing.T) {
	t.Helper()
	if killed, err := c.ct.Stop(); err != nil || killed {
		t.Fatalf("halt %s: killed=%v %v", c.Name, killed, err)
	}
	c.PID1 = 0
}
