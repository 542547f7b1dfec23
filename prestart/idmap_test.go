package prestart

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// asServer runs a shell script as the server's user (not root, no
// capabilities), the way the game server writes into its merged tree.
func asServer(t *testing.T, dir, script string) (string, error) {
	t.Helper()
	// runtime/NAME is root's alone: the server reaches its tree through a
	// bind mount, as the unit's BindPaths= gives it.
	mp := t.TempDir()
	opened(t, mp)
	if err := unix.Mount(dir, mp, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(mp, unix.MNT_DETACH)
	cmd := exec.Command("/bin/sh", "-eu", "-c", script)
	cmd.Dir = mp
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: testUID, Gid: testGID}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// opened lets the server's user walk down to the state root, as the
// package's tmpfiles.d does on a host (t.TempDir is 0700).
func opened(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != filepath.Dir(os.TempDir()); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot is every file below dir with its owner, mode and bytes.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(&b, "%s %v %d:%d\n", p, fi.Mode(), st.Uid, st.Gid)
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The server creates, modifies, renames and deletes anything in its merged
// tree, including below directories only a lower layer has, while the
// layers stay root-owned and unchanged and another instance sees nothing.
func TestServerWritesIntoLowerDirectories(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attach bool
		pinned bool
	}{
		{"detached idmapped layers", false, false},
		{"attached idmapped layers (kernels before 6.15)", true, false},
		{"detached idmapped layers through the pinned namespace", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, "")
			e.c.attachLayers = tc.attach
			if tc.pinned {
				e.c.IdmapPins = pinDir(t)
			}
			opened(t, e.root)
			mk(t, e.path("overlays/top/left4dead2/addons/sourcemod/logs/.keep"), "", 0o644)
			mk(t, e.path("overlays/top/left4dead2/cfg/banned_user.cfg"), "banid 0 STEAM_1:0:1\n", 0o644)
			mk(t, e.path("installation/left4dead2/maps/c1m1_hotel.bsp"), "map", 0o644)
			mk(t, e.c.Layout.SpecPath("other"), "port: 27016\noverlays: [top, plain]\n", 0o644)
			before := snapshot(t, e.path("overlays")) + snapshot(t, e.path("installation"))

			for _, name := range []string{"srv", "other"} {
				if err := startSpec(e.c, name); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = Stop(e.c, name) })
			}
			merged := e.c.Layout.MergedDir("srv")
			out, err := asServer(t, merged+"/left4dead2", `
echo "L 11/30/2026 - 00:00:00: [SM] log" >> addons/sourcemod/logs/L20261130.log
mkdir -p addons/sourcemod/data/sqlite cfg/sourcemod
echo db > addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3
echo 'sm_cvar 1' > cfg/sourcemod/plugin.test.cfg
echo "banid 0 STEAM_1:0:2" > cfg/banned_user.cfg
mv maps/c1m1_hotel.bsp maps/renamed.bsp
rm base.txt
mkdir downloads logs
`)
			if err != nil {
				t.Fatalf("the server could not write into its tree: %v\n%s", err, out)
			}
			upper := e.path("runtime/srv/upper/left4dead2") + "/"
			for rel, want := range map[string]string{
				"addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3": "db\n",
				"cfg/sourcemod/plugin.test.cfg":                       "sm_cvar 1\n",
				"cfg/banned_user.cfg":                                 "banid 0 STEAM_1:0:2\n",
				"maps/renamed.bsp":                                    "map",
			} {
				data, err := os.ReadFile(upper + rel)
				if err != nil || string(data) != want {
					t.Errorf("upper %s = %q, %v; want %q", rel, data, err, want)
					continue
				}
				if fi, _ := os.Stat(upper + rel); fi.Sys().(*syscall.Stat_t).Uid != testUID {
					t.Errorf("upper %s belongs to uid %d, not the server", rel, fi.Sys().(*syscall.Stat_t).Uid)
				}
			}
			if _, err := os.Stat(merged + "/left4dead2/base.txt"); !os.IsNotExist(err) {
				t.Errorf("deleted file still visible: %v", err)
			}
			if after := snapshot(t, e.path("overlays")) + snapshot(t, e.path("installation")); after != before {
				t.Errorf("the layers changed:\nbefore\n%s\nafter\n%s", before, after)
			}
			other := e.c.Layout.MergedDir("other") + "/left4dead2/"
			if data, _ := os.ReadFile(other + "cfg/banned_user.cfg"); !bytes.Equal(data, []byte("banid 0 STEAM_1:0:1\n")) {
				t.Errorf("the other instance sees %q", data)
			}
			if _, err := os.Stat(other + "base.txt"); err != nil {
				t.Errorf("the other instance lost base.txt: %v", err)
			}
			if ms, err := os.ReadFile("/proc/self/mountinfo"); err == nil && strings.Contains(string(ms), e.path("runtime/srv/"+attachDir)) {
				t.Errorf("attached layers left mounted:\n%s", ms)
			}
		})
	}
}
