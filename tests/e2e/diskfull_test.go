package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDiskFull fills the state directory's filesystem under a running
// server, then updates, builds and starts; and makes /etc/left4me
// read-only, then edits specs. Each must fail with a clear error, leave
// nothing half-done and the running server untouched, and work again once
// there is room.
func TestDiskFull(t *testing.T) {
	requireE2E(t)
	sc := relScale()
	fig := newFigures(t, sc, "full update", "full build", "full start", "full recovery", "ro etc")
	state := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", state, "tmpfs", 0, "size=96m,mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(state, unix.MNT_DETACH) })
	files := map[string]string{"etc/left4me/instances/d0.yaml": "port: 27210\n"}
	for k, v := range crashSetup {
		files[k] = v
	}
	c := bootStoreHost(t, state, files)
	c.MustRun(t, l4m("overlay", "build", "mods")...)
	c.MustRun(t, "systemctl", "reset-failed", "l4d2@c0.service")
	c.MustRun(t, "systemctl", "start", "l4d2@c0.service")
	waitActive(t, c, "c0")
	pid := mainPID(t, c, "c0")
	untouched := func() bool {
		return unitState(t, c, "c0") == "active" && mainPID(t, c, "c0") == pid && answers(t, c, 27200) == nil
	}
	run := func(args ...string) (string, error) {
		return c.Run(t, append([]string{"sh", "-c", `exec "$@" 2>&1`, "sh"}, args...)...)
	}

	link := currentLink(t, state)
	ovMarker := readText(t, filepath.Join(state, "overlays/mods/.left4me-overlay-mods"))
	depot(t, c, "300", "v300", nil)
	filler := filepath.Join(state, "filler")
	// dd stops at ENOSPC; that is the point.
	_ = exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").Run()

	out, err := run(l4m("game", "update")...)
	staging, _ := filepath.Glob(filepath.Join(state, "installations", ".staging-*"))
	ok := err != nil && strings.Contains(out, "no space left on device") && strings.Contains(out, "nothing was changed") &&
		currentLink(t, state) == link && len(staging) == 0
	fig.add("full update", ok && untouched(), "state full during game update: refused with a clear error: %v; installation unchanged, no staging left: %v; running server untouched: %v",
		err != nil && strings.Contains(out, "no space left on device"), currentLink(t, state) == link && len(staging) == 0, untouched())
	if !ok {
		t.Logf("game update on a full disk: %v\n%s", err, out)
	}

	c.MustRun(t, "sh", "-c", "echo vfull > /etc/left4me/overlays/mods.txt")
	out, err = run(l4m("overlay", "build", "mods")...)
	builds, _ := filepath.Glob(filepath.Join(state, "overlay-builds/mods/.build-*"))
	same := readText(t, filepath.Join(state, "overlays/mods/.left4me-overlay-mods")) == ovMarker
	ok = err != nil && strings.Contains(out, "no space left on device") && strings.Contains(out, "the current version is unchanged") && same && len(builds) == 0
	fig.add("full build", ok && untouched(), "state full during overlay build: refused with a clear error: %v; overlay unchanged, no build left: %v; running server untouched: %v",
		err != nil && strings.Contains(out, "no space left on device"), same && len(builds) == 0, untouched())
	if !ok {
		t.Logf("overlay build on a full disk: %v\n%s", err, out)
	}

	_, err = c.Run(t, "systemctl", "start", "l4d2@d0.service")
	j := c.Journal(t, "l4d2@d0.service")
	ok = err != nil && strings.Contains(j, "no space left on device") && mountCount(t, c, "d0") == 0
	fig.add("full start", ok && untouched(), "state full during a start: refused with a clear error, nothing mounted: %v; running server untouched: %v", ok, untouched())
	if !ok {
		t.Logf("start on a full disk: %v\n%s", err, j)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	_, e1 := run(l4m("game", "update")...)
	_, e2 := run(l4m("overlay", "build", "mods")...)
	c.MustRun(t, "systemctl", "reset-failed", "l4d2@d0.service")
	_, e3 := c.Run(t, "systemctl", "start", "l4d2@d0.service")
	ok = e1 == nil && e2 == nil && e3 == nil && answers(t, c, 27210) == nil && len(consistencyProblems(t, c)) == 0
	fig.add("full recovery", ok, "with room again: update %s, build %s, start %s", errOK(e1), errOK(e2), errOK(e3))

	readOnlyEtc(t, c, fig, untouched)
}

// readOnlyEtc edits specs with /etc/left4me mounted read-only: each
// command must fail saying so, and change nothing.
func readOnlyEtc(t *testing.T, c *Container, fig *figures, untouched func() bool) {
	c.MustRun(t, "mount", "--bind", "/etc/left4me", "/etc/left4me")
	c.MustRun(t, "mount", "-o", "remount,bind,ro", "/etc/left4me")
	defer c.Run(t, "umount", "/etc/left4me")
	before := c.MustRun(t, "sh", "-c", "ls -la /etc/left4me/instances; cat /etc/left4me/instances/*.yaml")
	clear := 0
	cmds := [][]string{
		{"left4me", "create", "ro1", "--port", "27220"},
		{"left4me", "enable", "d0"},
		{"left4me", "disable", "c0"},
		{"left4me", "delete", "--yes", "d0"},
	}
	for _, cmd := range cmds {
		out, err := c.Run(t, append([]string{"sh", "-c", `exec "$@" 2>&1`, "sh"}, cmd...)...)
		if err != nil && strings.Contains(out, "read-only file system") {
			clear++
		} else {
			t.Logf("%q on a read-only /etc/left4me: %v\n%s", cmd, err, out)
		}
	}
	after := c.MustRun(t, "sh", "-c", "ls -la /etc/left4me/instances; cat /etc/left4me/instances/*.yaml")
	// The refused delete must not have stopped d0 or deleted its data.
	d0 := unitState(t, c, "d0") == "active" && mountCount(t, c, "d0") == 1
	fig.add("ro etc", clear == len(cmds) && before == after && untouched() && d0,
		"/etc/left4me read-only: %d/%d spec edits (create, enable, disable, delete) refused with \"read-only file system\"; specs unchanged: %v; running servers untouched (also the one delete was asked to remove): %v",
		clear, len(cmds), before == after, untouched() && d0)
}
