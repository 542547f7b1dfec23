package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/tests/loopfs"
)

// TestFullDiskKeepsRootsReserve: a server that writes until its
// filesystem refuses stops where any user stops on ext4, and the blocks
// ext4 keeps for root stay the host's. Before, overlayfs wrote the
// server's data with the fsuid of its mounter, root, and took the reserve
// too (prestart.asWriter says where in the kernels). A start on the disk
// full for users fails, saying why, until space is freed.
func TestFullDiskKeepsRootsReserve(t *testing.T) {
	requireE2E(t)
	state := loopfs.Ext4(t, t.TempDir(), 192<<20)
	c, _ := bootPagedAt(t, state, map[string]string{
		"overlays/filler/left4dead2/cfg/standin_attack": "fill /var/lib/left4me/runtime/filler/merged/left4dead2/fill.bin\n",
	}, map[string]string{
		"etc/left4me/instances/calm.yaml":   "port: 27057\n",
		"etc/left4me/instances/filler.yaml": "port: 27056\noverlays: [filler]\n",
		"etc/left4me/instances/late.yaml":   "port: 27058\n",
	})
	// What ext4 keeps for root: statfs's free blocks less those any user
	// may take.
	statfs := func() (free, forUsers int64) {
		var st unix.Statfs_t
		if err := unix.Statfs(state, &st); err != nil {
			t.Fatal(err)
		}
		return int64(st.Bfree) * st.Bsize, int64(st.Bavail) * st.Bsize
	}
	free, forUsers := statfs()
	reserve := free - forUsers
	c.MustRun(t, "systemctl", "start", "l4d2@calm.service", "l4d2@filler.service")

	report := filepath.Join(state, "runtime/filler/upper/left4dead2/standin-attack.json")
	c.WaitFor(t, "filler's fill to end", 2*time.Minute, func() bool {
		_, err := os.Stat(report)
		return err == nil
	})
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var attempts []struct {
		What string `json:"what"`
		Err  string `json:"err"`
	}
	if err := json.Unmarshal(b, &attempts); err != nil || len(attempts) != 1 {
		t.Fatalf("attack report %s: %v", b, err)
	}
	if !strings.HasPrefix(attempts[0].What, "fill ") || attempts[0].Err != "no space left on device" {
		t.Fatalf("the fill: %+v, want it ended by a full disk", attempts[0])
	}
	t.Logf("%s", attempts[0].What)
	free, forUsers = statfs()
	if forUsers > 1<<20 || free < reserve*9/10 {
		t.Errorf("after the fill: %d bytes free, %d of them for users; want the disk full for users and root's reserve (%d bytes) left", free, forUsers, reserve)
	}
	// Root writes as journald or dpkg would on the host's filesystem.
	c.MustRun(t, "sh", "-c", "head -c 1048576 /dev/zero >/var/lib/left4me/root.bin && sync /var/lib/left4me/root.bin && rm /var/lib/left4me/root.bin")

	// A server started now could write nothing: its start fails, saying
	// why, instead of giving it a tree overlayfs mounted read-only. calm,
	// running, runs on.
	if _, err := c.Run(t, "systemctl", "start", "l4d2@late.service"); err == nil {
		t.Error("late started on a disk full for users")
	}
	if j := c.Journal(t, "l4d2@late.service"); !strings.Contains(j, "overlayfs mounted it read-only: the filesystem is full for users") {
		t.Errorf("late's start does not say why it failed:\n%s", j)
	}
	if n := mountCount(t, c, "late"); n != 0 {
		t.Errorf("late's read-only overlay left mounted (%d)", n)
	}
	// Not a refusal of its spec: freed, the same start works, so systemd
	// tries again (Restart=).
	c.WaitFor(t, "late's start tried again", time.Minute, func() bool {
		return strings.Contains(c.Journal(t, "l4d2@late.service"), "Scheduled restart job")
	})
	if err := answers(t, c, 27057); err != nil {
		t.Errorf("calm on the full disk: %v", err)
	}
	// Nor does left4me restart (an operator's, a scheduled one, the
	// role's) take calm down only to fail to start it.
	pid := mainPID(t, c, "calm")
	if out, err := c.Run(t, "left4me", "restart", "calm"); err == nil || !strings.Contains(out+err.Error(), "a start of calm would fail, so nothing was done") || !strings.Contains(out+err.Error(), "the filesystem is full for users") {
		t.Errorf("left4me restart calm on the full disk: %v\n%s", err, out)
	}
	if now := mainPID(t, c, "calm"); now != pid {
		t.Errorf("calm was restarted on the full disk (PID %s, was %s)", now, pid)
	}
	// Space freed (the operator's reset of filler), late starts.
	c.MustRun(t, "systemctl", "stop", "l4d2@filler.service")
	// Its backup first cannot fit in what users may write (root's
	// reserve is the host's): refused before anything, with the way out.
	if out, err := c.Run(t, "left4me", "reset", "filler", "--yes"); err == nil || !strings.Contains(out+err.Error(), "not enough free space for the backup reset takes first") || !strings.Contains(out+err.Error(), "--no-backup") {
		t.Errorf("reset with its backup on the full disk: %v\n%s", err, out)
	}
	c.MustRun(t, "left4me", "reset", "filler", "--yes", "--no-backup")
	c.MustRun(t, "systemctl", "reset-failed", "l4d2@late.service")
	c.MustRun(t, "systemctl", "start", "l4d2@late.service")
	waitActive(t, c, "late")
}
