package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// The instances of the lifecycle suite, written before boot.
var lifecycleSpecs = map[string]string{
	// Autostart, two overlays (one aliased), an argument with a space.
	"etc/left4me/instances/alpha.yaml": `port: 27015
autostart: true
arguments: ["+map", "c1m1_hotel", "+sv_tags", "versus, casual"]
config:
  - 'hostname "Alpha server"'
overlays:
  - {path: comp, alias: comp}
  - maps
`,
	// Started by hand only.
	"etc/left4me/instances/beta.yaml": "port: 27016\noverlays: [maps]\nresources: {memory_max: 1G, cpu_quota: 50%, cpu_weight: 50, cpu_affinity: 0, nice: 5, tasks_max: 64}\n",
	// Invalid: skipped at boot, with its reason in the journal.
	"etc/left4me/instances/broken.yaml": "port: 99999\nautostart: true\n",
	// An overlay whose server.cfg is a link to a root-only file.
	"etc/left4me/instances/evil.yaml": "port: 27017\noverlays: [{path: evil, alias: evil}]\n",
}

var lifecycleState = map[string]string{
	"installation/left4dead2/who.txt":         "installation",
	"installation/left4dead2/install.txt":     "from the installation",
	"overlays/comp/left4dead2/who.txt":        "comp",
	"overlays/comp/left4dead2/cfg/server.cfg": "hostname \"Comp server\"\nsv_comp 1\n",
	"overlays/maps/left4dead2/who.txt":        "maps",
	"overlays/maps/left4dead2/maps.txt":       "from maps",
	"overlays/evil/left4dead2/cfg/server.cfg": "->/etc/shadow",
}

type report struct {
	Argv        []string `json:"argv"`
	UID         int      `json:"uid"`
	PID         int      `json:"pid"`
	Hostname    string   `json:"hostname"`
	Wrote       []string `json:"wrote"`
	WriteErrors []string `json:"write_errors"`
	CfgChain    []struct {
		File  string   `json:"file"`
		Lines []string `json:"lines"`
	} `json:"cfg_chain"`
}

func TestLifecycle(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, lifecycleState); err != nil {
		t.Fatal(err)
	}
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, lifecycleSpecs) }})

	t.Run("autostart instance is up after boot", func(t *testing.T) {
		waitActive(t, c, "alpha")
		info := query(t, c, 27015)
		if info.Name != "Alpha server" || info.Map != "c1m1_hotel" {
			t.Fatalf("A2S_INFO: %+v", info)
		}
	})
	t.Run("server argv, user and cfg chain", func(t *testing.T) {
		r := readReport(t, state, "alpha")
		want := []string{"/var/lib/left4me/runtime/alpha/merged/srcds_linux", "-game", "left4dead2", "-strictportbind",
			"-port", "27015", "+clientport", "28015", "+tv_port", "29015", "-steamport", "30014", "+map", "c1m1_hotel", "+sv_tags", "versus, casual"}
		if fmt.Sprint(r.Argv) != fmt.Sprint(want) || len(r.Argv) != len(want) {
			t.Errorf("argv %q, want %q", r.Argv, want)
		}
		// Its own dynamic user (l4d2-alpha), which owns its upper layer.
		uid := strings.TrimSpace(c.MustRun(t, "id", "-u", "l4d2-alpha"))
		shared := strings.TrimSpace(c.MustRun(t, "id", "-u", "left4me"))
		if fi, err := os.Stat(filepath.Join(state, "runtime/alpha/upper")); err != nil || r.UID == 0 || strconv.Itoa(r.UID) != uid ||
			uid == shared || owner(fi)[0] != uint32(r.UID) {
			t.Errorf("server ran as uid %d, want l4d2-alpha's (%s), not left4me's (%s), owning its upper layer (%v)", r.UID, uid, shared, err)
		}
		var files []string
		for _, f := range r.CfgChain {
			files = append(files, f.File)
		}
		// The auto exec line runs the overlay's cfg first; the spec's own
		// hostname then wins.
		if strings.Join(files, " ") != "left4dead2/cfg/server.cfg left4dead2/cfg/server_comp.cfg" || r.Hostname != "Alpha server" {
			t.Errorf("cfg chain %v, hostname %q", files, r.Hostname)
		}
		if got := r.CfgChain[0].Lines; len(got) != 2 || got[0] != "exec server_comp" {
			t.Errorf("server.cfg as the server read it: %q", got)
		}
	})
	t.Run("overlay precedence", func(t *testing.T) {
		m := "/var/lib/left4me/runtime/alpha/merged/left4dead2/"
		for file, want := range map[string]string{"who.txt": "comp", "maps.txt": "from maps", "install.txt": "from the installation"} {
			if got := c.MustRun(t, "cat", m+file); got != want {
				t.Errorf("%s = %q, want %q", file, got, want)
			}
		}
	})
	t.Run("the server's sandbox shows only its own tree", func(t *testing.T) {
		pid := mainPID(t, c, "alpha")
		in := func(args ...string) string {
			return strings.TrimSpace(c.MustRun(t, append([]string{"nsenter", "-t", pid, "-m", "--"}, args...)...))
		}
		if got := in("ls", "/var/lib/left4me"); got != "runtime" {
			t.Errorf("the server sees %q in the state root", got)
		}
		if got := in("ls", "/var/lib/left4me/runtime"); got != "alpha" {
			t.Errorf("the server sees instances %q", got)
		}
		if got := in("cat", "/var/lib/left4me/runtime/alpha/merged/left4dead2/who.txt"); got != "comp" {
			t.Errorf("own tree: %q", got)
		}
		out, _ := c.Run(t, "systemd-analyze", "security", "--no-pager", "l4d2@alpha.service")
		if !strings.Contains(out, "Overall exposure level for l4d2@alpha.service: 1.8") {
			t.Errorf("systemd-analyze security:\n%s", out)
		}
	})
	t.Run("helper steps in the unit's journal", func(t *testing.T) {
		j := c.Journal(t, "l4d2@alpha.service")
		for _, want := range []string{"staging server.cfg", "mounting overlay", "standin: listening"} {
			if !strings.Contains(j, want) {
				t.Errorf("journal lacks %q:\n%s", want, j)
			}
		}
	})
	t.Run("bad spec skipped with its reason in the journal", func(t *testing.T) {
		if st := unitState(t, c, "broken"); st != "inactive" {
			t.Errorf("broken is %s", st)
		}
		if out, _ := c.Run(t, "systemctl", "cat", "l4d2@broken.service"); strings.Contains(out, "50-left4me-spec.conf") {
			t.Errorf("a drop-in was generated for broken:\n%s", out)
		}
		// A container has no /dev/kmsg, so the boot-time run of the
		// generator only reaches the console; a reload reaches journald.
		c.MustRun(t, "systemctl", "daemon-reload")
		reason := "/etc/left4me/instances/broken.yaml:1:7: port: 99999 is out of range"
		c.WaitFor(t, "the reason broken.yaml was skipped in the journal", 10*time.Second, func() bool {
			return strings.Contains(c.MustRun(t, "journalctl", "-b", "--no-pager", "-o", "cat", "-t", "left4me-generator"), reason)
		})
		if st := unitState(t, c, "alpha"); st != "active" {
			t.Errorf("alpha is %s after the reload", st)
		}
		// The generator's stderr is what systemd-analyze shows.
		out, _ := c.Run(t, "sh", "-c", "systemd-analyze --generators=yes verify l4d2@alpha.service 2>&1")
		if !strings.Contains(out, reason) {
			t.Errorf("systemd-analyze --generators=yes verify does not show why broken.yaml was skipped:\n%s", out)
		}
	})
	// journalSays waits for the journal of unit to hold every want (the
	// helper's lines may land just after systemctl returned).
	journalSays := func(t *testing.T, unit string, want ...string) {
		t.Helper()
		c.WaitFor(t, fmt.Sprintf("%q in the journal of %s", want, unit), 10*time.Second, func() bool {
			j := c.Journal(t, unit)
			for _, w := range want {
				if !strings.Contains(j, w) {
					return false
				}
			}
			return true
		})
	}
	t.Run("starting a bad spec by hand says why", func(t *testing.T) {
		if _, err := c.Run(t, "systemctl", "start", "l4d2@broken.service"); err == nil {
			t.Fatal("l4d2@broken.service started")
		}
		journalSays(t, "l4d2@broken.service", "broken.yaml:1:7: port: 99999 is out of range", "the spec was invalid at the last daemon-reload")
		if _, err := c.Run(t, "systemctl", "start", "l4d2@nosuch.service"); err == nil {
			t.Fatal("l4d2@nosuch.service started")
		}
		journalSays(t, "l4d2@nosuch.service", "/etc/left4me/instances/nosuch.yaml did not exist at the last daemon-reload")
		c.MustRun(t, "systemctl", "stop", "l4d2@broken.service", "l4d2@nosuch.service") // no retries left running
	})
	t.Run("a spec edited without a reload is refused", func(t *testing.T) {
		spec := "/etc/left4me/instances/beta.yaml"
		c.MustRun(t, "sh", "-c", "cp "+spec+" /tmp/beta.orig && echo 'config: [sv_edited 1]' >> "+spec)
		if _, err := c.Run(t, "systemctl", "start", "l4d2@beta.service"); err == nil {
			t.Error("beta started on a spec systemd has not loaded")
		}
		journalSays(t, "l4d2@beta.service", "spec changed since systemd last loaded it")
		if mountCount(t, c, "beta") != 0 {
			t.Error("beta's overlay is mounted after the refusal")
		}
		// A refusal fails once: no Restart=on-failure retries of it.
		time.Sleep(5 * time.Second) // RestartSec=3 would have retried by now
		show := c.MustRun(t, "systemctl", "show", "-P", "NRestarts", "-P", "ActiveState", "l4d2@beta.service")
		if f := strings.Fields(show); len(f) != 2 || f[0] != "0" || f[1] == "activating" || f[1] == "active" {
			t.Errorf("NRestarts, ActiveState = %q", show)
		}
		if n := strings.Count(c.Journal(t, "l4d2@beta.service"), "spec changed since systemd last loaded it"); n != 1 {
			t.Errorf("the refusal is in the journal %d times", n)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@beta.service")
		c.MustRun(t, "sh", "-c", "cp /tmp/beta.orig "+spec+"; systemctl reset-failed l4d2@beta.service; true")
	})
	t.Run("start and stop by hand", func(t *testing.T) {
		if st := unitState(t, c, "beta"); st != "inactive" {
			t.Fatalf("beta must not start at boot: %s", st)
		}
		c.MustRun(t, "systemctl", "start", "l4d2@beta.service")
		waitActive(t, c, "beta")
		if info := query(t, c, 27016); info.Folder != "left4dead2" {
			t.Errorf("beta A2S_INFO %+v", info)
		}
		props := c.MustRun(t, "systemctl", "show", "-p", "MemoryMax,CPUQuotaPerSecUSec,CPUWeight,TasksMax,Nice", "l4d2@beta.service")
		for _, want := range []string{"MemoryMax=1073741824", "CPUQuotaPerSecUSec=500ms", "CPUWeight=50", "TasksMax=64", "Nice=5"} {
			if !strings.Contains(props, want+"\n") {
				t.Errorf("beta lacks %s:\n%s", want, props)
			}
		}
		pid := mainPID(t, c, "beta")
		status := c.MustRun(t, "cat", "/proc/"+pid+"/status")
		if !strings.Contains(status, "Cpus_allowed_list:\t0\n") {
			t.Errorf("server not pinned to CPU 0:\n%s", status)
		}
		if stat := strings.Fields(c.MustRun(t, "cat", "/proc/"+pid+"/stat")); stat[18] != "5" {
			t.Errorf("server nice %s, want 5", stat[18])
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@beta.service")
		if n := mountCount(t, c, "beta"); n != 0 {
			t.Errorf("beta still mounted %d times after stop", n)
		}
	})
	t.Run("kill -9 is restarted, mounted once", func(t *testing.T) {
		old := mainPID(t, c, "alpha")
		c.MustRun(t, "kill", "-9", old)
		c.WaitFor(t, "alpha restarted with a new main PID", 60*time.Second, func() bool {
			pid := mainPID(t, c, "alpha")
			return pid != old && pid != "0" && unitState(t, c, "alpha") == "active"
		})
		query(t, c, 27015)
		if n := mountCount(t, c, "alpha"); n != 1 {
			t.Errorf("alpha mounted %d times after restart", n)
		}
	})
	t.Run("overlay cfg symlink is refused", func(t *testing.T) {
		if _, err := c.Run(t, "systemctl", "start", "l4d2@evil.service"); err == nil {
			t.Fatal("evil started")
		}
		if j := c.Journal(t, "l4d2@evil.service"); !strings.Contains(j, "overlays/evil/left4dead2/cfg/server.cfg: is (or passes through) a symbolic link") {
			t.Errorf("journal of evil:\n%s", j)
		}
		if _, err := os.Lstat(filepath.Join(state, "runtime/evil/upper/left4dead2/cfg/server_evil.cfg")); !os.IsNotExist(err) {
			t.Errorf("a copy was staged: %v", err)
		}
		if n := mountCount(t, c, "evil"); n != 0 {
			t.Errorf("evil mounted")
		}
	})
	t.Run("upper layer symlink is refused", func(t *testing.T) {
		c.MustRun(t, "systemctl", "stop", "l4d2@alpha.service")
		cfg := filepath.Join(state, "runtime/alpha/upper/left4dead2/cfg")
		if err := os.Rename(cfg, cfg+".saved"); err != nil {
			t.Fatal(err)
		}
		// The server owns its upper layer and could plant this.
		if err := os.Symlink("/etc", cfg); err != nil {
			t.Fatal(err)
		}
		before := c.MustRun(t, "ls", "-la", "/etc")
		if _, err := c.Run(t, "systemctl", "start", "l4d2@alpha.service"); err == nil {
			t.Fatal("alpha started through a symlinked upper cfg dir")
		}
		if !strings.Contains(c.Journal(t, "l4d2@alpha.service"), "upper/left4dead2/cfg: is (or passes through) a symbolic link") {
			t.Error("journal does not name the symlink")
		}
		if after := c.MustRun(t, "ls", "-la", "/etc"); after != before {
			t.Error("/etc changed")
		}
		if err := os.Remove(cfg); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(cfg+".saved", cfg); err != nil {
			t.Fatal(err)
		}
		c.MustRun(t, "systemctl", "reset-failed", "l4d2@alpha.service")
		c.MustRun(t, "systemctl", "start", "l4d2@alpha.service")
		waitActive(t, c, "alpha")
	})
	t.Run("leftover mount of a killed helper is recovered", func(t *testing.T) {
		// Run the start helper by hand while beta is stopped: its mount is
		// what a helper killed after mounting would leave.
		c.MustRun(t, "env", "LEFT4ME_ROOT=/var/lib/left4me", "/usr/lib/left4me/left4me-prestart", "beta")
		if n := mountCount(t, c, "beta"); n != 1 {
			t.Fatalf("setup: %d mounts", n)
		}
		c.MustRun(t, "systemctl", "start", "l4d2@beta.service")
		waitActive(t, c, "beta")
		if n := mountCount(t, c, "beta"); n != 1 {
			t.Errorf("beta mounted %d times", n)
		}
		if !strings.Contains(c.Journal(t, "l4d2@beta.service"), "recovered: removed 1 leftover mount") {
			t.Error("recovery not in the journal")
		}
	})
	t.Run("stopping l4d2.target stops all and unmounts", func(t *testing.T) {
		c.MustRun(t, "systemctl", "stop", "l4d2.target")
		for _, n := range []string{"alpha", "beta"} {
			// Instances are ordered Before= the target, so their stop jobs
			// run after the target's own, which systemctl waits for.
			c.WaitFor(t, n+" inactive after stopping l4d2.target", 30*time.Second, func() bool {
				return unitState(t, c, n) == "inactive"
			})
			if m := mountCount(t, c, n); m != 0 {
				t.Errorf("%s still mounted", n)
			}
		}
	})
}

func unitState(t *testing.T, c *Container, name string) string {
	t.Helper()
	out, _ := c.Run(t, "systemctl", "is-active", "l4d2@"+name+".service")
	return strings.TrimSpace(out)
}

func waitActive(t *testing.T, c *Container, name string) {
	t.Helper()
	c.WaitFor(t, name+" active and answering", 60*time.Second, func() bool {
		return unitState(t, c, name) == "active" && strings.Contains(c.Journal(t, "l4d2@"+name+".service"), "standin: listening")
	})
}

func mainPID(t *testing.T, c *Container, name string) string {
	t.Helper()
	return strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "MainPID", "l4d2@"+name+".service"))
}

// mountCount counts mounts on the instance's merged dir inside the container.
func mountCount(t *testing.T, c *Container, name string) int {
	t.Helper()
	mi := c.MustRun(t, "cat", "/proc/self/mountinfo")
	return strings.Count(mi, " /var/lib/left4me/runtime/"+name+"/merged ")
}

// query asks the instance for A2S_INFO from inside the container's network.
func query(t *testing.T, c *Container, port int) a2s.Info {
	t.Helper()
	var info a2s.Info
	var err error
	for i := 0; i < 20; i++ {
		c.Netns(t, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			info, err = a2s.Query(ctx, "127.0.0.1:"+strconv.Itoa(port))
		})
		if err == nil {
			return info
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("A2S_INFO on port %d: %v", port, err)
	return info
}

func readReport(t *testing.T, state, name string) report {
	t.Helper()
	var r report
	b, err := os.ReadFile(filepath.Join(state, "runtime", name, "upper", "left4dead2", "standin-report.json"))
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		t.Fatalf("stand-in report of %s: %v", name, err)
	}
	return r
}
