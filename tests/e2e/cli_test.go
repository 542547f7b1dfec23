package e2e

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCLI drives the operator CLI inside one booted container as an
// operator would: create, validate, render, start, list, status, logs,
// stop, enable, disable, reset, delete, and the error exits.
func TestCLI(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, map[string]string{
		"installation/left4dead2/who.txt":         "installation",
		"overlays/comp/left4dead2/cfg/server.cfg": "sv_comp 1\n",
		"overlays/maps/left4dead2/maps.txt":       "from maps",
	}); err != nil {
		t.Fatal(err)
	}
	c := Boot(t, Options{State: state, Install: installProject(t)})
	// l4m runs left4me in the container; stdin is not a terminal there.
	l4m := func(t *testing.T, args ...string) (string, int, string) {
		t.Helper()
		out, err := c.Run(t, append([]string{"left4me"}, args...)...)
		return out, exitCode(t, err), errText(err)
	}
	must := func(t *testing.T, args ...string) string {
		t.Helper()
		out, code, msg := l4m(t, args...)
		if code != 0 {
			t.Fatalf("left4me %q: exit %d: %s\nstdout:\n%s", args, code, msg, out)
		}
		return out
	}
	const spec = "/etc/left4me/instances/cli1.yaml"
	upper := filepath.Join(state, "runtime/cli1/upper")

	t.Run("create", func(t *testing.T) {
		out := must(t, "create", "cli1", "--port", "27020", "--overlay", "comp=comp", "--overlay", "maps",
			"--config", `hostname "CLI server"`, "--arg", "+map", "--arg", "c2m1_highway")
		if !strings.Contains(out, "created cli1: "+spec) {
			t.Errorf("stdout %q", out)
		}
		unit := c.MustRun(t, "systemctl", "cat", "l4d2@cli1.service")
		if !strings.Contains(unit, "50-left4me-spec.conf") || !strings.Contains(unit, "-port 27020 +clientport 28020 +tv_port 29020 -steamport 30019 +map c2m1_highway") {
			t.Errorf("systemctl cat shows no drop-in (daemon-reload missing?):\n%s", unit)
		}
		if _, code, msg := l4m(t, "create", "cli1", "--port", "27021"); code != 1 || !strings.Contains(msg, "has a spec already") {
			t.Errorf("second create: exit %d %s", code, msg)
		}
	})
	t.Run("validate", func(t *testing.T) {
		if out := must(t, "validate"); !strings.Contains(out, "ok: 1 spec(s) valid") {
			t.Errorf("stdout %q", out)
		}
		var res []struct {
			Name  string `json:"name"`
			Valid bool   `json:"valid"`
		}
		if err := json.Unmarshal([]byte(must(t, "validate", "--json", "cli1")), &res); err != nil || len(res) != 1 || !res[0].Valid {
			t.Errorf("--json: %+v %v", res, err)
		}
	})
	t.Run("render", func(t *testing.T) {
		out, code, msg := l4m(t, "render", "cli1")
		for _, w := range []string{"exec server_comp  # auto", `hostname "CLI server"`,
			"server_comp.cfg  /var/lib/left4me/overlays/comp/left4dead2/cfg/server.cfg -> /var/lib/left4me/runtime/cli1/upper/left4dead2/cfg/server_comp.cfg",
			"overlays[1]   /var/lib/left4me/overlays/maps",
			"/var/lib/left4me/runtime/cli1/merged/srcds_linux -game left4dead2 -strictportbind -port 27020 +clientport 28020 +tv_port 29020 -steamport 30019 +map c2m1_highway"} {
			if !strings.Contains(out, w) {
				t.Errorf("render lacks %q (exit %d %s):\n%s", w, code, msg, out)
			}
		}
		if strings.Contains(msg, "65534") {
			t.Errorf("the left4me user exists, yet render fell back to nobody: %s", msg)
		}
	})
	t.Run("start", func(t *testing.T) {
		if out := must(t, "start", "cli1"); !strings.Contains(out, "cli1: started") {
			t.Errorf("stdout %q", out)
		}
		defer func() {
			if t.Failed() {
				t.Logf("journal of cli1:\n%s", c.Journal(t, "l4d2@cli1.service"))
			}
		}()
		waitActive(t, c, "cli1")
		if info := query(t, c, 27020); info.Name != "CLI server" || info.Map != "c2m1_highway" {
			t.Errorf("A2S_INFO %+v", info)
		}
	})
	t.Run("list", func(t *testing.T) {
		out := must(t, "list")
		// The stand-in answers with no players and no bots.
		// DISK: what its start measured (upper layer and dumps).
		if !regexp.MustCompile(`(?m)^cli1 +27020/28020/29020/30020 +no +active +0 +0 +yes +[0-9.]+ (B|KiB|MiB) +comp=comp,maps *$`).MatchString(out) {
			t.Errorf("list:\n%s", out)
		}
		// Without the system bus, root falls back to systemd's private socket.
		out = c.MustRun(t, "env", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent", "left4me", "list", "--json")
		var rows []struct {
			Name    string `json:"name"`
			State   string `json:"state"`
			Mounted bool   `json:"mounted"`
		}
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 || rows[0].State != "active" || !rows[0].Mounted {
			t.Errorf("list --json over /run/systemd/private: %+v %v\n%s", rows, err, out)
		}
	})
	t.Run("status", func(t *testing.T) {
		out := must(t, "status", "cli1")
		for _, w := range []string{"cli1 - l4d2@cli1.service", "(port 27020 client 28020 tv 29020 steam 30020, autostart no)", "state:     active (running) since ",
			"main PID:  ", "mounted:   yes, on /var/lib/left4me/runtime/cli1/merged", "last log lines:", "standin: listening"} {
			if !strings.Contains(out, w) {
				t.Errorf("status lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("overlay status of a hand-made overlay names its instances", func(t *testing.T) {
		out := must(t, "overlay", "status", "maps")
		if !strings.Contains(out, "version (unversioned) (current)  running: cli1") {
			t.Errorf("overlay status:\n%s", out)
		}
	})
	t.Run("logs", func(t *testing.T) {
		out := must(t, "logs", "cli1", "-n", "3")
		if n := strings.Count(strings.TrimSpace(out), "\n") + 1; out == "" || n > 4 {
			t.Errorf("logs -n 3 printed %d lines:\n%s", n, out)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"status", "nope"}, 4, `unknown instance "nope"`},
			{[]string{"start", "../x"}, 2, "invalid instance name"},
			{[]string{"reset", "cli1"}, 2, "pass --yes"},
			{[]string{"frob"}, 2, "unknown command"},
		} {
			if _, code, msg := l4m(t, c.args...); code != c.code || !strings.Contains(msg, c.want) {
				t.Errorf("%q: exit %d %s", c.args, code, msg)
			}
		}
		nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "left4me"}
		// Specs are root's (0640, they may hold an RCON password), so even
		// a start needs root to read them.
		for _, args := range [][]string{{"stop", "cli1"}, {"reset", "cli1", "--yes"}, {"start", "cli1"}} {
			_, err := c.Run(t, append(nobody, args...)...)
			if code := exitCode(t, err); code != 6 || !strings.Contains(errText(err), "root") {
				t.Errorf("as nobody %q: exit %d %s", args, code, errText(err))
			}
		}
		// list needs neither root nor systemd (it says what it cannot know).
		out, err := c.Run(t, append([]string{"env", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent"}, append(nobody, "list")...)...)
		if err != nil || !strings.Contains(out, "cli1") {
			t.Errorf("no bus, not root: list: %v\n%s", err, out)
		}
		if st := unitState(t, c, "cli1"); st != "active" {
			t.Errorf("cli1 is %s after refused commands", st)
		}
	})
	t.Run("start failure explains", func(t *testing.T) {
		must(t, "create", "cli2", "--port", "27021", "--overlay", "missing")
		// Checked before the job: the reason, and no start retried five
		// times by Restart=on-failure.
		out, code, msg := l4m(t, "start", "cli2")
		if code != 1 || !strings.Contains(msg, "a start of cli2 would fail, so nothing was done") ||
			!strings.Contains(msg, "overlays/missing: does not exist") {
			t.Errorf("exit %d\nstderr: %s\nstdout: %s", code, msg, out)
		}
		if n := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "NRestarts", "l4d2@cli2.service")); n != "0" || unitState(t, c, "cli2") != "inactive" {
			t.Errorf("cli2 was started anyway: NRestarts %s, %s", n, unitState(t, c, "cli2"))
		}
		must(t, "delete", "cli2", "--yes")
	})
	t.Run("stop", func(t *testing.T) {
		must(t, "stop", "cli1")
		if st := unitState(t, c, "cli1"); st != "inactive" {
			t.Errorf("state %s", st)
		}
		if n := mountCount(t, c, "cli1"); n != 0 {
			t.Errorf("mounted %d times after stop", n)
		}
	})
	t.Run("enable", func(t *testing.T) {
		must(t, "enable", "cli1")
		if deps := c.MustRun(t, "systemctl", "list-dependencies", "--plain", "l4d2.target"); !strings.Contains(deps, "l4d2@cli1.service") {
			t.Errorf("l4d2.target does not want cli1:\n%s", deps)
		}
		b := c.MustRun(t, "cat", spec)
		if !strings.Contains(b, "autostart: true") || !strings.HasPrefix(b, "# left4me instance cli1") {
			t.Errorf("spec after enable:\n%s", b)
		}
	})
	t.Run("disable", func(t *testing.T) {
		must(t, "disable", "cli1")
		if deps := c.MustRun(t, "systemctl", "list-dependencies", "--plain", "l4d2.target"); strings.Contains(deps, "l4d2@cli1.service") {
			t.Errorf("l4d2.target still wants cli1:\n%s", deps)
		}
	})
	t.Run("reset", func(t *testing.T) {
		must(t, "start", "cli1")
		waitActive(t, c, "cli1")
		if err := os.WriteFile(filepath.Join(upper, "left4dead2", "marker"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		oldPID := mainPID(t, c, "cli1")
		must(t, "reset", "cli1", "--yes")
		if _, err := os.Stat(filepath.Join(upper, "left4dead2", "marker")); !os.IsNotExist(err) {
			t.Errorf("upper layer not removed: %v", err)
		}
		waitActive(t, c, "cli1") // it was running, so it runs again
		if pid := mainPID(t, c, "cli1"); pid == oldPID {
			t.Errorf("main PID unchanged (%s): not restarted", pid)
		}
		if n := mountCount(t, c, "cli1"); n != 1 {
			t.Errorf("mounted %d times after reset", n)
		}
	})
	t.Run("delete", func(t *testing.T) {
		must(t, "delete", "cli1", "--yes")
		if st := unitState(t, c, "cli1"); st != "inactive" {
			t.Errorf("state %s", st)
		}
		if _, err := os.Lstat(filepath.Join(state, "runtime/cli1")); !os.IsNotExist(err) {
			t.Errorf("runtime/cli1 still there: %v", err)
		}
		if _, err := c.Run(t, "test", "-e", spec); err == nil {
			t.Error("spec still there")
		}
		for _, p := range []string{"installation/srcds_run", "overlays/comp/left4dead2/cfg/server.cfg", "overlays/maps/left4dead2/maps.txt"} {
			if _, err := os.Stat(filepath.Join(state, p)); err != nil {
				t.Errorf("delete touched %s: %v", p, err)
			}
		}
		if unit, _ := c.Run(t, "systemctl", "cat", "l4d2@cli1.service"); strings.Contains(unit, "50-left4me-spec.conf") {
			t.Errorf("drop-in still loaded after delete:\n%s", unit)
		}
		if out := must(t, "list"); !strings.Contains(out, "no instances") {
			t.Errorf("list after delete:\n%s", out)
		}
	})
}

// exitCode is the exit status of a command run with Container.Run.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("not an exit status: %v", err)
	return -1
}

// errText is the error of Container.Run, which carries stderr.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// hasRow reports whether some line of out has the fields in order.
func hasRow(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}
