package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Reliability figures, kept small enough for CI; the counts are printed to
// build/reliability.txt, which `make test` shows at the end.
const (
	relInstances = 10 // started at once through l4d2.target at boot
	relCycles    = 20 // start/stop cycles of one instance
	relKills     = 8  // kill -9, spread over instances to stay under StartLimitBurst
)

func TestReliability(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	specs := map[string]string{}
	for i := range relInstances {
		specs[fmt.Sprintf("etc/left4me/instances/r%d.yaml", i)] = fmt.Sprintf("port: %d\nautostart: true\n", 27100+i)
	}
	specs["etc/left4me/instances/full.yaml"] = "port: 27099\nconfig: [\"hostname full\"]\n"
	fillDisk(t, filepath.Join(state, "runtime", "full"))
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, specs) }})
	var fig []string
	report := func(format string, args ...any) {
		fig = append(fig, fmt.Sprintf(format, args...))
		t.Logf(format, args...)
	}
	t.Cleanup(func() { writeFigures(t, fig) })

	start := time.Now()
	active := 0
	for i := range relInstances {
		waitActive(t, c, fmt.Sprintf("r%d", i))
		query(t, c, 27100+i)
		active++
	}
	report("%d/%d instances active and answering after boot through l4d2.target (%v after boot)", active, relInstances, time.Since(start).Round(time.Millisecond))

	leaks := 0
	for range relCycles {
		c.MustRun(t, "systemctl", "stop", "l4d2@r0.service")
		leaks += mountCount(t, c, "r0")
		// Manual starts count against StartLimitBurst too.
		c.MustRun(t, "systemctl", "reset-failed", "l4d2@r0.service")
		c.MustRun(t, "systemctl", "start", "l4d2@r0.service")
		if n := mountCount(t, c, "r0"); n != 1 {
			t.Errorf("r0 mounted %d times after a start", n)
		}
	}
	report("%d start/stop cycles: %d leaked mount(s)", relCycles, leaks)
	if leaks > 0 {
		t.Errorf("%d mounts leaked", leaks)
	}

	clean := 0
	for k := range relKills {
		name := fmt.Sprintf("r%d", 1+k%4)
		old := mainPID(t, c, name)
		c.MustRun(t, "kill", "-9", old)
		c.WaitFor(t, name+" restarted after kill -9", 60*time.Second, func() bool {
			pid := mainPID(t, c, name)
			return pid != old && pid != "0" && unitState(t, c, name) == "active"
		})
		if mountCount(t, c, name) == 1 {
			clean++
		}
	}
	report("%d kill -9 crashes: %d clean restarts (active, answering, mounted once)", relKills, clean)
	if clean != relKills {
		t.Errorf("only %d of %d restarts were clean", clean, relKills)
	}

	c.MustRun(t, "systemctl", "stop", "l4d2@r9.service")
	c.MustRun(t, "env", "LEFT4ME_ROOT=/var/lib/left4me", "/usr/lib/left4me/left4me-prestart", "r9")
	c.MustRun(t, "systemctl", "start", "l4d2@r9.service")
	report("stale mount of a killed helper: %d mount(s) after the next start", mountCount(t, c, "r9"))
	if !strings.Contains(c.Journal(t, "l4d2@r9.service"), "recovered: removed") {
		t.Error("stale mount not recovered")
	}

	_, err := c.Run(t, "systemctl", "start", "l4d2@full.service")
	j := c.MustRun(t, "journalctl", "--no-pager", "-o", "cat", "-u", "l4d2@full.service")
	ok := err != nil && strings.Contains(j, "no space left on device") && strings.Contains(j, "write /var/lib/left4me/runtime/full/")
	others := 0
	for i := range relInstances {
		if unitState(t, c, fmt.Sprintf("r%d", i)) == "active" {
			others++
		}
	}
	report("full upper layer: start refused with a clear error: %v; other instances still active: %d/%d", ok, others, relInstances)
	if !ok {
		t.Errorf("full disk: %v\n%s", err, j)
	}
	if others != relInstances {
		t.Errorf("other instances were affected")
	}
}

// fillDisk puts a full 1 MiB tmpfs where the instance's runtime dir goes.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	for _, d := range []string{"upper/left4dead2/cfg", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// dd stops at ENOSPC; that is the point.
	_ = exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(dir, "upper", "filler"), "bs=4k").Run()
}

func writeFigures(t *testing.T, fig []string) {
	p := filepath.Join(repoRoot(t), "build", "reliability.txt")
	body := "Reliability figures (tests/e2e TestReliability, " + time.Now().UTC().Format(time.RFC3339) + "):\n"
	for _, f := range fig {
		body += "  " + f + "\n"
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Logf("write %s: %v", p, err)
	}
}
