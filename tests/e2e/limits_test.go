package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLimits: a server's cgroup limits are its spec's from its start on,
// and a daemon-reload after the spec lowered them leaves the running
// server's alone (systemd applies a unit file's cgroup settings to the
// running cgroup at every reload: a MemoryMax below what it uses would be
// the OOM killer); its next start takes the new ones, and the defaults
// again once the spec sets none.
func TestLimits(t *testing.T) {
	requireE2E(t)
	c := bootStoreHost(t, t.TempDir(), map[string]string{
		"etc/left4me/instances/lim.yaml": "port: 27096\nresources: {tasks_max: 300, memory_max: 3G, cpu_quota: 150%, cpu_weight: 200}\n",
	})
	limits := func() string {
		t.Helper()
		var v []string
		for _, p := range []string{"TasksMax", "CPUWeight", "CPUQuotaPerSecUSec", "MemoryMax"} {
			v = append(v, strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", p, "l4d2@lim.service")))
		}
		return strings.Join(v, " ")
	}
	pidsMax := func() string {
		t.Helper()
		cg := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "ControlGroup", "l4d2@lim.service"))
		// cgroup v1's pids hierarchy, or the unified one; a container
		// on a cgroup v1 host may have neither delegated: "".
		out, _ := c.Run(t, "sh", "-c", "cat /sys/fs/cgroup/pids"+cg+"/pids.max 2>/dev/null || cat /sys/fs/cgroup"+cg+"/pids.max 2>/dev/null")
		return strings.TrimSpace(out)
	}
	spec := func(text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(c.Root, "etc/left4me/instances/lim.yaml"), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	c.MustRun(t, "left4me", "start", "lim")
	const started = "300 200 1.500000s 3221225472"
	cgroupIs := func(want string) bool { got := pidsMax(); return got == "" || got == want }
	if got := limits(); got != started || !cgroupIs("300") {
		t.Fatalf("limits at the start: %q (pids.max %s), want %q", got, pidsMax(), started)
	}
	pid := mainPID(t, c, "lim")
	spec("port: 27096\nresources: {tasks_max: 200, memory_max: 2G}\n")
	c.MustRun(t, "systemctl", "daemon-reload")
	if got := limits(); got != started || !cgroupIs("300") || mainPID(t, c, "lim") != pid {
		t.Errorf("after a reload that lowered them: %q (pids.max %s), want %q kept", got, pidsMax(), started)
	}
	c.MustRun(t, "left4me", "restart", "lim")
	// 4s: limits.yaml's default cpu_quota (400%) where the spec sets none.
	if got, want := limits(), "200 [not set] 4s 2147483648"; got != want || !cgroupIs("200") {
		t.Errorf("after the restart: %q (pids.max %s), want %q", got, pidsMax(), want)
	}
	spec("port: 27096\n")
	c.MustRun(t, "left4me", "restart", "lim")
	if got, want := limits(), "512 [not set] 4s 2147483648"; got != want || !cgroupIs("512") {
		t.Errorf("with no resources: %q (pids.max %s), want %q", got, pidsMax(), want)
	}
	c.MustRun(t, "left4me", "stop", "lim")
}
