package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHarnessBoots checks the harness itself: boot, the state bind,
// overlayfs on the state dir inside the container, the network namespace
// and, after the container is gone, that nothing leaked.
func TestHarnessBoots(t *testing.T) {
	requireE2E(t)
	sweepStale(t)
	var c *Container
	t.Run("container", func(t *testing.T) {
		c = Boot(t, Options{State: t.TempDir(), Install: func(string) error { return nil }})

		state := strings.TrimSpace(c.MustRun(t, "systemctl", "is-system-running"))
		if state != "running" && state != "degraded" {
			t.Errorf("is-system-running = %q", state)
		}
		if h := strings.TrimSpace(c.MustRun(t, "hostname")); h != c.Name {
			t.Errorf("hostname %q, want the machine name %q", h, c.Name)
		}
		t.Run("state bind", func(t *testing.T) { checkStateBind(t, c) })
		t.Run("overlay on state", func(t *testing.T) { checkOverlayOnState(t, c) })
		t.Run("journal", func(t *testing.T) { checkJournal(t, c) })
		t.Run("netns", func(t *testing.T) { checkNetns(t, c) })
	})
	if c == nil {
		return
	}
	// The subtest's cleanups have run: the container must be gone.
	if !c.ct.Exited() {
		t.Errorf("systemd-nspawn (pid %d) still running", c.ct.NspawnPID())
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", c.PID1)); err == nil {
		t.Errorf("container PID 1 (%d) still exists", c.PID1)
	}
	for _, dir := range []string{c.ct.Base(), c.State} {
		if pts, _ := mountsUnder(dir, true); len(pts) > 0 {
			t.Errorf("mounts left under %s: %v", dir, pts)
		}
	}
	if _, err := os.Stat(c.ct.Base()); !os.IsNotExist(err) {
		t.Errorf("%s not removed: %v", c.ct.Base(), err)
	}
	for _, cg := range c.ct.Cgroups() {
		if _, err := os.Stat(cg); !os.IsNotExist(err) {
			t.Errorf("cgroup %s not removed: %v", cg, err)
		}
	}
	// Only mounts below the container's own paths are checked above: other
	// packages' tests mount overlays at the same time.
}

// checkStateBind writes on each side of the bind and reads on the other.
func checkStateBind(t *testing.T, c *Container) {
	if err := os.WriteFile(filepath.Join(c.State, "from-host"), []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := c.MustRun(t, "cat", stateMount+"/from-host"); got != "host\n" {
		t.Errorf("container reads %q from %s/from-host", got, stateMount)
	}
	c.MustRun(t, "sh", "-c", "echo container >"+stateMount+"/from-container")
	if got, err := os.ReadFile(filepath.Join(c.State, "from-container")); err != nil || string(got) != "container\n" {
		t.Errorf("host reads %q, %v from the state dir", got, err)
	}
}

// checkOverlayOnState mounts an overlay inside the container with all its
// layers on the state bind, as the project does for game installations.
func checkOverlayOnState(t *testing.T, c *Container) {
	for _, d := range []string{"a", "u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(c.State, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(c.State, "a", "lower"), []byte("lower\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := stateMount
	c.MustRun(t, "mount", "-t", "overlay", "overlay", "-o",
		"lowerdir="+s+"/a,upperdir="+s+"/u,workdir="+s+"/w", s+"/m")
	if got := c.MustRun(t, "cat", s+"/m/lower"); got != "lower\n" {
		t.Errorf("overlay shows %q for the lower file", got)
	}
	c.MustRun(t, "sh", "-c", "echo upper >"+s+"/m/upper")
	// The mount lives in the container's namespace only...
	if pts, _ := mountsUnder(c.State, false); len(pts) > 0 {
		t.Errorf("container mount visible on the host: %v", pts)
	}
	// ...but its writes land in the real directory on the host.
	if got, err := os.ReadFile(filepath.Join(c.State, "u", "upper")); err != nil || string(got) != "upper\n" {
		t.Errorf("upper dir on host has %q, %v", got, err)
	}
	c.MustRun(t, "umount", s+"/m")
}

// checkJournal runs a transient unit and finds its output with Journal.
func checkJournal(t *testing.T, c *Container) {
	c.MustRun(t, "systemd-run", "--unit=e2e-hello", "--wait", "--quiet", "echo", "hello from a unit")
	c.WaitFor(t, "e2e-hello output in the journal", 10*time.Second, func() bool {
		return strings.Contains(c.Journal(t, "e2e-hello"), "hello from a unit")
	})
	if _, err := c.Run(t, "sh", "-c", "echo oops >&2; exit 3"); err == nil || !strings.Contains(err.Error(), "oops") {
		t.Errorf("Run error should carry stderr, got %v", err)
	}
}

// checkNetns binds a UDP socket on 127.0.0.1 inside the container's
// network namespace and has bash in the container send to it, so the
// test process really talks to the container's loopback.
func checkNetns(t *testing.T, c *Container) {
	var conn *net.UDPConn
	var names []string
	c.Netns(t, func() {
		ifs, err := net.Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		if conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
	})
	defer conn.Close()
	if strings.Join(names, ",") != "lo" {
		t.Errorf("interfaces in the container netns: %v, want only lo (--private-network)", names)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	// Back in the host namespace the same port is free: a different stack.
	host, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Errorf("port %d also taken on the host: %v (Netns did not switch or restore)", port, err)
	} else {
		host.Close()
	}
	c.MustRun(t, "bash", "-c", fmt.Sprintf("echo ping >/dev/udp/127.0.0.1/%d", port))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "ping\n" {
		t.Errorf("read from container: %q, %v", buf[:n], err)
	}
}
