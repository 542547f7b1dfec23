package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// crashSetup is a host with a versioned game installation (updated by the
// stand-in steamcmd), an overlay with a builder, and one instance that
// must be able to start after every crash.
var crashSetup = map[string]string{
	"etc/left4me/instances/c0.yaml":  "port: 27200\nautostart: true\noverlays: [mods]\n",
	"etc/left4me/overlays/mods.yaml": "builder: mods.sh\ntimeout: 60s\n",
	"etc/left4me/overlays/mods.txt":  "v0\n",
	"etc/left4me/overlays/mods.sh": `v=$(cat /etc/left4me/overlays/mods.txt)
for i in 1 2 3 4 5 6 7 8; do
	mkdir -p "$GAME/addons/a$i" && echo "$v" > "$GAME/addons/a$i/f.txt"
	sleep 0.1
done
echo "$v" > "$GAME/who.txt"
`,
}

// crashOp is a CLI operation cut short at random points.
type crashOp struct {
	name string
	// prepare runs before each attempt (a new build in the depot, a spec
	// to delete ...) and returns the command to cut short.
	prepare func(t *testing.T, c *Container, n int) []string
	// rerun completes what was cut short; nil: the command again.
	rerun func(t *testing.T, c *Container, n int) []string
}

// TestCrashConsistency kills CLI operations with SIGKILL, and cuts the
// power of the whole container, at random points, then checks that
// nothing is half-done and that the operation completes when run again.
func TestCrashConsistency(t *testing.T) {
	skipForFullRun(t)
	requireE2E(t)
	sc := relScale()
	rng, seed := seededRand(t)
	c := bootStoreHost(t, "", crashSetup)
	// The overlay's first version, before the instance can start.
	c.MustRun(t, l4m("overlay", "build", "mods")...)
	c.MustRun(t, "systemctl", "reset-failed", "l4d2@c0.service")
	c.MustRun(t, "systemctl", "start", "l4d2@c0.service")
	waitActive(t, c, "c0")
	build := 100
	ops := []crashOp{
		{name: "game update", prepare: func(t *testing.T, c *Container, n int) []string {
			build++
			depot(t, c, fmt.Sprint(build), fmt.Sprint("v", build), nil)
			return l4m("game", "update")
		}},
		{name: "overlay build", prepare: func(t *testing.T, c *Container, n int) []string {
			c.MustRun(t, "sh", "-c", fmt.Sprintf("echo v%d > /etc/left4me/overlays/mods.txt", n))
			return l4m("overlay", "build", "mods")
		}},
		{name: "create", prepare: func(t *testing.T, c *Container, n int) []string {
			c.Run(t, l4m("delete", "--yes", "x1")...)
			return l4m("create", "x1", "--port", "27201", "--config", fmt.Sprintf("hostname try%d", n), "--autostart")
		}},
		{name: "enable", prepare: func(t *testing.T, c *Container, n int) []string {
			c.Run(t, l4m("disable", "c0")...)
			return l4m("enable", "c0")
		}},
		{name: "disable", prepare: func(t *testing.T, c *Container, n int) []string {
			c.Run(t, l4m("enable", "c0")...)
			return l4m("disable", "c0")
		}, rerun: func(t *testing.T, c *Container, n int) []string {
			c.Run(t, l4m("disable", "c0")...)
			return l4m("enable", "c0") // leave c0 autostarting for the power cuts
		}},
		{name: "delete", prepare: func(t *testing.T, c *Container, n int) []string {
			if _, err := c.Run(t, "test", "-e", "/etc/left4me/instances/x2.yaml"); err != nil {
				c.MustRun(t, l4m("create", "x2", "--port", "27202")...)
			}
			c.MustRun(t, "systemctl", "start", "l4d2@x2.service")
			return l4m("delete", "--yes", "x2")
		}},
		{name: "reset", prepare: func(t *testing.T, c *Container, n int) []string {
			return l4m("reset", "--yes", "c0")
		}},
		{name: "start", prepare: func(t *testing.T, c *Container, n int) []string {
			c.MustRun(t, "systemctl", "stop", "l4d2@c0.service")
			c.MustRun(t, "systemctl", "reset-failed", "l4d2@c0.service")
			return l4m("start", "c0")
		}},
	}
	var want []string
	for _, op := range ops {
		want = append(want, "kill "+op.name, "power "+op.name)
	}
	fig := newFigures(t, sc, want...)
	t.Logf("crash points from seed %d", seed)
	for _, op := range ops {
		// How long the operation takes: the range of the kill points.
		cmd := op.prepare(t, c, 0)
		began := time.Now()
		if out, err := c.Run(t, cmd...); err != nil {
			t.Fatalf("%s, uninterrupted: %v\n%s", op.name, err, out)
		}
		span := time.Since(began)
		var broke []string
		cut := 0
		for k := range sc.killPoints {
			delay := time.Duration(rng.Int64N(int64(span) + 1))
			cmd := op.prepare(t, c, k+1)
			if killAfter(t, c, cmd, delay) {
				cut++
			}
			broke = append(broke, afterCrash(t, c, op, k+1)...)
		}
		fig.add("kill "+op.name, len(broke) == 0, "%s: %d random kill -9 points over %v (%d cut it short): %d broke %v",
			op.name, sc.killPoints, span.Round(time.Millisecond), cut, len(broke), broke)
		broke = nil
		for k := range sc.powerCuts {
			delay := time.Duration(rng.Int64N(int64(span) + 1))
			cmd := op.prepare(t, c, 100+k)
			go c.Run(t, cmd...)
			time.Sleep(delay)
			c.PowerCut(t)
			c.Reboot(t)
			broke = append(broke, afterCrash(t, c, op, 100+k)...)
		}
		fig.add("power "+op.name, len(broke) == 0, "%s: %d random power cuts over %v, then a boot on what persisted: %d broke %v",
			op.name, sc.powerCuts, span.Round(time.Millisecond), len(broke), broke)
	}
}

// bootStoreHost boots a host with a versioned game installation (version
// gameV1, build 100) that the stand-in steamcmd in /opt/steamcmd updates
// (slowly: 60ms per file), and files (specs, overlay definitions). An
// empty state means a fresh t.TempDir().
func bootStoreHost(t *testing.T, state string, files map[string]string) *Container {
	t.Helper()
	if state == "" {
		state = t.TempDir()
	}
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	v1 := filepath.Join(state, "installations", gameV1)
	if err := writeFiles(v1, map[string]string{
		"left4dead2/who.txt":               "v1",
		"steamapps/appmanifest_222860.acf": gameManifest("100"),
	}); err != nil {
		t.Fatal(err)
	}
	installStandin(t, v1)
	if err := os.Symlink("installations/"+gameV1, filepath.Join(state, "installation")); err != nil {
		t.Fatal(err)
	}
	return Boot(t, Options{State: state, Install: installProject(t), Setup: func(root string) error {
		steam, err := os.ReadFile(filepath.Join(repoRoot(t), "build", "steamcmd"))
		if err != nil {
			return err
		}
		if err := writeFiles(root, map[string]string{"opt/steamcmd/depot/delay": "60ms\n"}); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, "opt/steamcmd/steamcmd"), steam, 0o755); err != nil {
			return err
		}
		return writeFiles(root, files)
	}})
}

// l4m is the CLI's command line, with the stand-in steamcmd.
func l4m(args ...string) []string {
	return append([]string{"env", "LEFT4ME_STEAMCMD=/opt/steamcmd/steamcmd", "left4me"}, args...)
}

// killAfter runs cmd in the container and SIGKILLs it after delay. It
// reports whether the kill came before the command ended.
func killAfter(t *testing.T, c *Container, cmd []string, delay time.Duration) bool {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(t, append([]string{"sh", "-c", `echo $$ > /run/crash-op.pid; exec "$@"`, "sh"}, cmd...)...)
		done <- err
	}()
	select {
	case <-done:
		return false
	case <-time.After(delay):
	}
	_, kerr := c.Run(t, "sh", "-c", `kill -9 "$(cat /run/crash-op.pid)"`)
	err := <-done
	return kerr == nil && err != nil && strings.Contains(err.Error(), "killed")
}

// afterCrash checks what must hold after any crash of op, then runs it to
// completion, and says what broke.
func afterCrash(t *testing.T, c *Container, op crashOp, n int) []string {
	t.Helper()
	var broke []string
	bad := func(format string, args ...any) {
		msg := fmt.Sprintf("point %d: ", n) + fmt.Sprintf(format, args...)
		t.Errorf("%s: %s", op.name, msg)
		broke = append(broke, msg)
	}
	for _, p := range consistencyProblems(t, c) {
		bad("%s", p)
	}
	rerun := op.rerun
	if rerun == nil {
		rerun = op.prepare
	}
	if out, err := c.Run(t, rerun(t, c, n)...); err != nil {
		bad("the next run failed: %v\n%s", err, out)
	}
	// Every instance that exists can start and answers.
	if _, err := c.Run(t, "systemctl", "reset-failed", "l4d2@c0.service"); err == nil {
		if out, err := c.Run(t, "systemctl", "restart", "l4d2@c0.service"); err != nil {
			bad("c0 does not start: %v\n%s\n%s", err, out, tail(c.Journal(t, "l4d2@c0.service"), 15))
		} else if err := answers(t, c, 27200); err != nil {
			bad("c0 does not answer: %v", err)
		} else if m := mountCount(t, c, "c0"); m != 1 {
			bad("c0 mounted %d times", m)
		}
	}
	for _, p := range consistencyProblems(t, c) {
		bad("after the next run: %s", p)
	}
	if tmps, _ := filepath.Glob(filepath.Join(c.Root, "etc/left4me/instances/.*.tmp*")); len(tmps) > 0 {
		bad("after the next run: temporary files left %v", tmps)
	}
	return broke
}

var versionID = regexp.MustCompile(`^installations/([0-9]+-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?)$`)

// consistencyProblems lists what is half-done: an installation or overlay
// that is not a complete version, a spec that does not parse, a
// temporary file that a reader could take for a spec.
func consistencyProblems(t *testing.T, c *Container) []string {
	t.Helper()
	var out []string
	state := c.State
	target, err := os.Readlink(filepath.Join(state, "installation"))
	m := versionID.FindStringSubmatch(target)
	switch {
	case err != nil:
		out = append(out, "installation: "+err.Error())
	case m == nil:
		out = append(out, "installation -> "+target+": not a version")
	default:
		dir := filepath.Join(state, target)
		marker, _ := os.ReadFile(filepath.Join(dir, ".left4me-version"))
		manifest, _ := os.ReadFile(filepath.Join(dir, "steamapps/appmanifest_222860.acf"))
		_, serr := os.Stat(filepath.Join(dir, "srcds_run"))
		if strings.TrimSpace(string(marker)) != m[1] && m[1] != gameV1 {
			out = append(out, "installation "+m[1]+": marker "+string(marker))
		}
		if !strings.Contains(string(manifest), `"StateFlags"		"4"`) || serr != nil {
			out = append(out, "installation "+m[1]+": incomplete (manifest or srcds_run)")
		}
	}
	ov := filepath.Join(state, "overlays/mods")
	marker, err := os.ReadFile(filepath.Join(ov, ".left4me-overlay-mods"))
	who, werr := os.ReadFile(filepath.Join(ov, "left4dead2/who.txt"))
	if err != nil || werr != nil {
		out = append(out, fmt.Sprintf("overlays/mods: not a complete version (marker %v, who.txt %v)", err, werr))
	} else {
		for i := 1; i <= 8; i++ {
			f, err := os.ReadFile(filepath.Join(ov, fmt.Sprintf("left4dead2/addons/a%d/f.txt", i)))
			if err != nil || string(f) != string(who) {
				out = append(out, fmt.Sprintf("overlays/mods %s: addons/a%d is %q, who.txt %q: a mix of versions", strings.TrimSpace(string(marker)), i, f, who))
				break
			}
		}
	}
	dir := filepath.Join(c.Root, "etc/left4me/instances")
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		} else if !strings.Contains(e.Name(), ".tmp") {
			out = append(out, "instances/"+e.Name()+": unexpected hidden file")
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			out = append(out, "instances/"+n+": not a spec")
		}
	}
	if o, err := c.Run(t, "left4me", "validate"); err != nil {
		out = append(out, fmt.Sprintf("left4me validate: %v\n%s", err, o))
	}
	return out
}
