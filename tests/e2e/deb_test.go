package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debSpecs are written once the package is installed. The shipped example
// (port 27015, autostart off, overlays that do not exist) sits next to them
// as an operator's copy would, which also proves it is a valid spec.
var debSpecs = map[string]string{
	"one.yaml": "port: 27016\nautostart: true\nconfig: ['hostname \"Deb one\"']\noverlays: [{path: comp, alias: comp}]\n",
	"two.yaml": "port: 27017\noverlays: [maps]\n",
	// Never started; only mounted by the start helper run by hand.
	"three.yaml": "port: 27018\noverlays: [maps]\n",
}

// TestDeb installs the Debian package with apt into a container that has
// no left4me, runs servers from it, reinstalls it under running servers,
// then removes and purges it: the instances stop, nothing stays mounted,
// and the game, overlays, upper layers and specs stay. The timer and socket
// the operator enabled stop at the removal, are enabled and started again
// by a reinstall, and are forgotten by the purge.
func TestDeb(t *testing.T) {
	requireE2E(t)
	deb := buildDeb(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, map[string]string{
		"installation/left4dead2/who.txt":         "installation",
		"overlays/comp/left4dead2/cfg/server.cfg": "sv_comp 1\n",
		"overlays/maps/left4dead2/who.txt":        "maps",
	}); err != nil {
		t.Fatal(err)
	}
	// Not /tmp: nspawn mounts a fresh tmpfs there.
	const pkg = "/var/tmp/left4me.deb"
	c := Boot(t, Options{State: state, Setup: func(root string) error {
		data, err := os.ReadFile(deb)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(root, pkg), data, 0o644)
	}})
	specs := filepath.Join(c.Root, "etc/left4me/instances")
	if _, err := os.Stat(filepath.Join(c.Root, "usr/lib/left4me")); !os.IsNotExist(err) {
		t.Fatalf("the container must start without left4me: %v", err)
	}

	t.Run("install", func(t *testing.T) {
		// As README's Install says (apt, not dpkg: it checks Depends:,
		// all there already), but for the 32-bit libraries the package
		// recommends, which the container's network cannot download.
		out := c.MustRun(t, "env", "DEBIAN_FRONTEND=noninteractive", "apt", "install", "-y", "--no-install-recommends", pkg)
		if !strings.Contains(out, "left4me: next steps") || !strings.Contains(out, "left4me game install") || !strings.Contains(out, "left4me create srv1") {
			t.Errorf("dpkg -i output:\n%s", out)
		}
		// left4me --version is the package's version.
		pv := strings.TrimSpace(c.MustRun(t, "dpkg-query", "-W", "-f", "${Version}", "left4me"))
		if v := strings.TrimSpace(c.MustRun(t, "left4me", "--version")); pv == "" || !strings.HasSuffix(v, " "+pv) {
			t.Errorf("left4me --version says %q, the package is %q", v, pv)
		}
		if uid := strings.TrimSpace(c.MustRun(t, "id", "-u", "left4me")); uid == "0" || uid == "" {
			t.Errorf("left4me uid %q", uid)
		}
		if st, err := os.Stat(specs); err != nil || !st.IsDir() {
			t.Fatalf("%s: %v", specs, err)
		}
		// postinst reloaded systemd: the generator's template is loaded.
		c.MustRun(t, "systemctl", "cat", "l4d2@.service")
		// The licence, the manual page and the completions are packaged.
		for _, f := range []string{"/usr/share/doc/left4me/copyright", "/usr/share/man/man1/left4me.1",
			"/usr/share/bash-completion/completions/left4me", "/usr/share/zsh/vendor-completions/_left4me",
			"/usr/share/fish/vendor_completions.d/left4me.fish"} {
			c.MustRun(t, "test", "-s", f)
		}
		if out := c.MustRun(t, "zcat", "-f", "/usr/share/man/man1/left4me.1"); !strings.Contains(out, ".TH left4me 1") || !strings.Contains(out, "is-active") {
			t.Errorf("left4me.1:\n%s", out)
		}
		// As README tells the operator to; left4me-web.socket stays off,
		// so the reinstall below must leave it off.
		c.MustRun(t, "systemctl", "enable", "--now", "left4me-update.timer", "left4me-metrics.socket")
	})
	t.Run("servers run from the package", func(t *testing.T) {
		example := c.MustRun(t, "cat", "/usr/share/doc/left4me/examples/instance.yaml")
		files := map[string]string{"example.yaml": example}
		for name, body := range debSpecs {
			files[name] = body
		}
		if err := writeFiles(specs, files); err != nil {
			t.Fatal(err)
		}
		c.MustRun(t, "systemctl", "daemon-reload")
		if unit := c.MustRun(t, "systemctl", "cat", "l4d2@example.service"); !strings.Contains(unit, "-port 27015 +clientport 28015 +tv_port 29015 -steamport 30014 +map c1m1_hotel") {
			t.Errorf("the shipped example spec was not rendered:\n%s", unit)
		}
		c.MustRun(t, "systemctl", "start", "l4d2.target", "l4d2@two.service")
		for name, port := range map[string]int{"one": 27016, "two": 27017} {
			waitActive(t, c, name)
			if info := query(t, c, port); info.Folder != "left4dead2" {
				t.Errorf("%s A2S_INFO %+v", name, info)
			}
			if n := mountCount(t, c, name); n != 1 {
				t.Errorf("%s mounted %d times", name, n)
			}
		}
		if info := query(t, c, 27016); info.Name != "Deb one" {
			t.Errorf("one A2S_INFO %+v", info)
		}
	})
	t.Run("reinstall leaves running servers alone", func(t *testing.T) {
		before := mainPID(t, c, "one") + " " + mainPID(t, c, "two")
		// An upgrade changes no enablement and starts nothing: an enabled
		// unit the operator stopped stays stopped, a running one is not
		// restarted.
		c.MustRun(t, "systemctl", "stop", "left4me-metrics.socket")
		timerSince := c.MustRun(t, "systemctl", "show", "-P", "ActiveEnterTimestampMonotonic", "left4me-update.timer")
		out := c.MustRun(t, "dpkg", "-i", pkg)
		if strings.Contains(out, "stopping") || strings.Contains(out, "next steps") || strings.Contains(out, "as before the removal") {
			t.Errorf("dpkg -i over an installed package:\n%s", out)
		}
		if after := mainPID(t, c, "one") + " " + mainPID(t, c, "two"); after != before {
			t.Errorf("main PIDs %s became %s", before, after)
		}
		checkUnits(t, c, "after an upgrade", map[string]string{
			"left4me-update.timer":   "enabled active",
			"left4me-metrics.socket": "enabled inactive",
			"left4me-web.socket":     "disabled inactive",
		})
		if s := c.MustRun(t, "systemctl", "show", "-P", "ActiveEnterTimestampMonotonic", "left4me-update.timer"); s != timerSince {
			t.Errorf("the upgrade restarted the update timer (active since %s, now %s)", strings.TrimSpace(timerSince), strings.TrimSpace(s))
		}
		c.MustRun(t, "systemctl", "start", "left4me-metrics.socket")
	})
	t.Run("needrestart leaves the servers alone", func(t *testing.T) {
		// The reinstall replaced the relay each server runs under (its
		// /proc/PID/exe is "(deleted)"), which needrestart, run by apt
		// after every upgrade, takes for a service to restart: Ubuntu
		// 24.04 does so at once. The package's conffile defers them.
		const conf = "/etc/needrestart/conf.d/left4me.conf"
		nr := func(mode string) (restart, deferred string) {
			t.Helper()
			out := c.MustRun(t, "needrestart", "-u", "NeedRestart::UI::stdio", "-r", mode)
			restart, deferred, _ = strings.Cut(out, "Service restarts being deferred:")
			return restart, deferred
		}
		before := mainPID(t, c, "one") + " " + mainPID(t, c, "two")
		restart, deferred := nr("a")
		if !strings.Contains(deferred, "l4d2@one.service") || !strings.Contains(deferred, "l4d2@two.service") || strings.Contains(restart, "l4d2@") {
			t.Errorf("needrestart -r a: the servers were not deferred:\n%s\n---\n%s", restart, deferred)
		}
		if after := mainPID(t, c, "one") + " " + mainPID(t, c, "two"); after != before {
			t.Errorf("needrestart restarted the servers: main PIDs %s became %s", before, after)
		}
		// Without the override it would restart them (listed only here).
		c.MustRun(t, "mv", conf, conf+".off")
		restart, _ = nr("l")
		c.MustRun(t, "mv", conf+".off", conf)
		if !strings.Contains(restart, "l4d2@one.service") {
			t.Errorf("needrestart -r l without %s does not list l4d2@one.service, so the step above proves nothing:\n%s", conf, restart)
		}
	})
	t.Run("an upgrade keeps running servers' limits", func(t *testing.T) {
		// As a left4me before 2026-12-07 left a running server: its limits
		// in a drop-in of the unit, none set at its start.
		c.MustRun(t, "sh", "-c", "mkdir -p /run/systemd/system/l4d2@one.service.d && printf '[Service]\\nTasksMax=300\\nMemoryMax=3G\\nCPUQuota=150%%\\nCPUWeight=200\\n' >/run/systemd/system/l4d2@one.service.d/old.conf && rm -rf /run/systemd/system.control/l4d2@one.service.d && systemctl daemon-reload")
		limits := func() string {
			var v []string
			for _, p := range []string{"TasksMax", "MemoryMax", "CPUQuotaPerSecUSec", "CPUWeight"} {
				v = append(v, strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", p, "l4d2@one.service")))
			}
			return strings.Join(v, " ")
		}
		const old = "300 3221225472 1.500000s 200"
		if got := limits(); got != old {
			t.Fatalf("setup: limits %q", got)
		}
		pid := mainPID(t, c, "one")
		// This version's generator writes no such drop-in: the upgrade's
		// reload would put the template's 512 and 2G on the server.
		c.MustRun(t, "rm", "/run/systemd/system/l4d2@one.service.d/old.conf")
		c.MustRun(t, "dpkg", "-i", pkg)
		if got := limits(); got != old || mainPID(t, c, "one") != pid {
			t.Errorf("after the upgrade: limits %q (want %q kept), main PID %s (was %s)", got, old, mainPID(t, c, "one"), pid)
		}
	})
	kept := []string{
		"installation/srcds_run",
		"installation/left4dead2/who.txt",
		"overlays/comp/left4dead2/cfg/server.cfg",
		"overlays/maps/left4dead2/who.txt",
		"runtime/one/upper/left4dead2/standin-report.json",
		"runtime/one/upper/left4dead2/cfg/server_comp.cfg",
		"runtime/two/upper/left4dead2/standin-report.json",
	}
	checkKept := func(t *testing.T) {
		t.Helper()
		for _, f := range kept {
			if _, err := os.Stat(filepath.Join(state, f)); err != nil {
				t.Errorf("data lost: %v", err)
			}
		}
		for _, f := range []string{"one.yaml", "two.yaml", "three.yaml", "example.yaml"} {
			if _, err := os.Stat(filepath.Join(specs, f)); err != nil {
				t.Errorf("spec lost: %v", err)
			}
		}
	}
	t.Run("remove stops the instances and keeps the data", func(t *testing.T) {
		checkKept(t) // present before, so the check after means something
		// A mount no unit owns, as a helper killed after mounting leaves it.
		c.MustRun(t, "env", "LEFT4ME_ROOT=/var/lib/left4me", "/usr/lib/left4me/left4me-prestart", "three")
		if n := mountCount(t, c, "three"); n != 1 {
			t.Fatalf("setup: three mounted %d times", n)
		}
		out := c.MustRun(t, "dpkg", "-r", "left4me")
		t.Logf("dpkg -r:\n%s", out)
		if st, _ := c.Run(t, "systemctl", "is-active", "left4me-update.timer"); strings.TrimSpace(st) == "active" {
			t.Error("the update timer still runs after dpkg -r")
		}
		// Stopped, and no link left behind that points at a removed unit.
		checkUnits(t, c, "after dpkg -r", map[string]string{
			"left4me-update.timer":   "not-found inactive",
			"left4me-metrics.socket": "not-found inactive",
			"left4me-web.socket":     "not-found inactive",
		})
		if links := wantsLinks(t, c); links != "" {
			t.Errorf("links left after dpkg -r:\n%s", links)
		}
		for _, want := range []string{"stopping l4d2.target", "unmounting the leftover overlay of three", "specs and /var/lib/left4me kept",
			"disabled left4me-update.timer left4me-metrics.socket for the removal; a reinstall enables them again"} {
			if !strings.Contains(out, want) {
				t.Errorf("dpkg -r output lacks %q", want)
			}
		}
		for _, name := range []string{"one", "two"} {
			if st := unitState(t, c, name); st != "inactive" {
				t.Errorf("%s is %s after dpkg -r", name, st)
			}
		}
		if mi := c.MustRun(t, "cat", "/proc/self/mountinfo"); strings.Contains(mi, " /var/lib/left4me/runtime/") || strings.Contains(mi, " /run/left4me/idmap/") {
			t.Errorf("mounts left under runtime/ or idmap pins:\n%s", mi)
		}
		if out, err := c.Run(t, "pgrep", "-u", "left4me"); err == nil {
			t.Errorf("processes of left4me left: %s", out)
		}
		if _, err := c.Run(t, "systemctl", "cat", "l4d2@.service"); err == nil {
			t.Error("the generated units outlived the package")
		}
		if _, err := os.Stat(filepath.Join(c.Root, "usr/lib/left4me/left4me-prestart")); !os.IsNotExist(err) {
			t.Errorf("helper not removed: %v", err)
		}
		checkKept(t)
	})
	t.Run("reinstall after remove enables again what was enabled", func(t *testing.T) {
		out := c.MustRun(t, "dpkg", "-i", pkg)
		t.Logf("dpkg -i:\n%s", out)
		if !strings.Contains(out, "left4me: enabled and started again, as before the removal: left4me-metrics.socket left4me-update.timer\n") {
			t.Errorf("dpkg -i does not say which units it enabled again:\n%s", out)
		}
		checkUnits(t, c, "after remove and reinstall", map[string]string{
			"left4me-update.timer":   "enabled active",
			"left4me-metrics.socket": "enabled active",
			"left4me-web.socket":     "disabled inactive",
		})
	})
	// Purged from installed, so prerm's remove runs once more first.
	t.Run("purge keeps the data and says so", func(t *testing.T) {
		out := c.MustRun(t, "dpkg", "-P", "left4me")
		t.Logf("dpkg -P:\n%s", out)
		if !strings.Contains(out, "NOTHING of your data was deleted") || !strings.Contains(out, "rm -rf /var/lib/left4me") {
			t.Errorf("dpkg -P output:\n%s", out)
		}
		if out, err := c.Run(t, "dpkg-query", "-W", "-f=${db:Status-Status}", "left4me"); err == nil && out != "not-installed" {
			t.Errorf("package status after purge: %q", out)
		}
		c.MustRun(t, "id", "left4me")
		checkKept(t)
		// Purge forgets the enablement: no link, no record of it.
		if links := wantsLinks(t, c); links != "" {
			t.Errorf("links left after dpkg -P:\n%s", links)
		}
		if left := c.MustRun(t, "find", "/etc/systemd", "/var/lib/systemd", "-name", "*left4me*"); left != "" {
			t.Errorf("left after dpkg -P:\n%s", left)
		}
	})
	t.Run("install after purge enables nothing", func(t *testing.T) {
		out := c.MustRun(t, "dpkg", "-i", pkg)
		if !strings.Contains(out, "next steps") || strings.Contains(out, "as before the removal") {
			t.Errorf("dpkg -i after a purge:\n%s", out)
		}
		checkUnits(t, c, "after purge and install", map[string]string{
			"left4me-update.timer":   "disabled inactive",
			"left4me-metrics.socket": "disabled inactive",
			"left4me-web.socket":     "disabled inactive",
		})
		c.MustRun(t, "dpkg", "-P", "left4me")
	})
}

// checkUnits compares each unit's `systemctl is-enabled` and `is-active`
// answers with want ("enabled active", "not-found inactive").
func checkUnits(t *testing.T, c *Container, when string, want map[string]string) {
	t.Helper()
	for unit, w := range want {
		en, _ := c.Run(t, "systemctl", "is-enabled", unit)
		if en = strings.TrimSpace(en); en == "" {
			en = "not-found" // no unit file: is-enabled says so on stderr only
		}
		act, _ := c.Run(t, "systemctl", "is-active", unit)
		if got := en + " " + strings.TrimSpace(act); got != w {
			t.Errorf("%s %s: %q, want %q", when, unit, got, w)
		}
	}
}

// wantsLinks lists the links of left4me units in /etc/systemd/system's
// .wants directories (an operator's `systemctl enable`).
func wantsLinks(t *testing.T, c *Container) string {
	t.Helper()
	return c.MustRun(t, "find", "/etc/systemd/system", "-path", "*.wants/left4me*")
}

// buildDeb runs `make deb` into a fresh directory and returns the package.
func buildDeb(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("make", "deb")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "DEB_OUT="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v", debs)
	}
	return debs[0]
}
