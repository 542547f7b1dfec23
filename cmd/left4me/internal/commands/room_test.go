package commands

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/tests/testroot"
)

// tmpfsAt mounts a tmpfs on dir (made if missing), and on each of binds
// (made if missing) dir/BASE of it, so that they share its space; all are
// unmounted when the test ends. It keeps leave bytes free once fill put
// on it what is to be there.
func tmpfsAt(t *testing.T, dir string, binds []string, fill func(), leave int64) {
	t.Helper()
	mkdirs(t, dir)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	for _, b := range binds {
		src := filepath.Join(dir, filepath.Base(b))
		mkdirs(t, src, b)
		if err := unix.Mount(src, b, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Unmount(b, unix.MNT_DETACH) })
	}
	if fill != nil {
		fill()
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	used := int64(st.Blocks-st.Bfree) * st.Bsize
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT, "size="+strconv.FormatInt(used+leave, 10)); err != nil {
		t.Fatal(err)
	}
}

// noise writes n bytes gzip cannot shrink.
func noise(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	mkdirs(t, filepath.Dir(path))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A backup (reset's, delete's, restore's of what it replaces) or the
// unpacked backup of a restore that cannot fit in the free space of its
// filesystem is refused before the running server is stopped or anyone
// is asked, saying where, how much is needed and free, and the ways out;
// nothing is written. Before, the server was stopped, the backup or the
// unpacking failed on the full disk, and it was started again: its
// players kicked for nothing (operator walk-through). Those that fit go
// ahead: --no-backup needs no room for the backup, and a backup and an
// unpacked one fit on a filesystem apart where together they would not.
func TestRoomBeforeStop(t *testing.T) {
	testroot.Require(t, "to mount a tmpfs of a given size")
	const mib = 1 << 20
	for _, tc := range []struct {
		name string
		args []string
		// full: what is on the small tmpfs ("backups", "runtime" or
		// "both") and how much it keeps free.
		full string
		free int64
		// refused: the message names this path; "" goes ahead.
		refused string
		ways    []string // what else the refusal says
	}{
		{"reset", []string{"reset", "srv1", "--yes"}, "backups", mib / 2, "backups", []string{"--no-backup", "keep fewer backups (backups: {keep: N} in "}},
		{"delete", []string{"delete", "srv1", "--yes"}, "backups", mib / 2, "backups", []string{"--no-backup"}},
		{"reset --no-backup", []string{"reset", "srv1", "--yes", "--no-backup"}, "backups", mib / 2, "", nil},
		{"restore, its backup first", []string{"restore", "srv1", "--yes"}, "backups", mib / 2, "backups", []string{"--no-backup", "srv1's 1 backup(s) take "}},
		{"restore, unpacked", []string{"restore", "srv1", "--yes"}, "runtime", 3 * mib / 2, "runtime", nil},
		{"restore --no-backup, unpacked", []string{"restore", "srv1", "--yes", "--no-backup"}, "runtime", 3 * mib / 2, "runtime", nil},
		{"restore, both on one filesystem", []string{"restore", "srv1", "--yes"}, "both", 4 * mib, "runtime", []string{"the backup restore takes first of srv1's upper layer (up to ", " and backup ", "together they need "}},
		{"restore --no-backup, one filesystem", []string{"restore", "srv1", "--yes", "--no-backup"}, "both", 4 * mib, "", nil},
		{"restore, apart", []string{"restore", "srv1", "--yes"}, "runtime", 4 * mib, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			unit := clienv.UnitOf("srv1")
			var rt string
			setup := func() {
				rt = withRuntime(t, te, "srv1")
				noise(t, filepath.Join(rt, "upper", "left4dead2", "demo.dem"), 2*mib)
				if tc.args[0] == "restore" {
					if err := te.run("backup", "srv1"); err != nil {
						t.Fatal(err)
					}
				}
			}
			switch tc.full {
			case "backups":
				tmpfsAt(t, dayops.BackupDir(te.Layout, "srv1"), nil, setup, tc.free)
			case "runtime":
				tmpfsAt(t, te.Layout.RuntimeRoot(), nil, setup, tc.free)
			case "both":
				tmpfsAt(t, filepath.Join(t.TempDir(), "fs"), []string{te.Layout.RuntimeRoot(), filepath.Dir(dayops.BackupDir(te.Layout, "srv1"))}, setup, tc.free)
			}
			te.sd.set(unit, "active", "running")
			te.sd.calls = nil
			before, _ := os.ReadDir(dayops.BackupDir(te.Layout, "srv1"))
			err := te.run(tc.args...)
			if tc.refused == "" {
				if err != nil {
					t.Fatalf("%v\n%s", err, te.err)
				}
				if !slices.Contains(te.sd.calls, "stop "+unit) {
					t.Errorf("did not go ahead: %v", te.sd.calls)
				}
				return
			}
			where := dayops.BackupDir(te.Layout, "srv1")
			if tc.refused == "runtime" {
				where = rt
			}
			if !errors.Is(err, dayops.ErrNoRoom) || !strings.Contains(err.Error(), "so nothing was stopped or written: ") ||
				!strings.Contains(err.Error(), " need") || !strings.Contains(err.Error(), "on the filesystem of ") || !strings.Contains(err.Error(), where) ||
				!strings.Contains(err.Error(), " free (for users") {
				t.Fatalf("want a refusal naming %s, what is needed and what is free; got %v", where, err)
			}
			for _, w := range tc.ways {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not say %q: %v", w, err)
				}
			}
			if tc.refused == "runtime" && tc.full == "runtime" && strings.Contains(err.Error(), "(--no-backup)") {
				t.Errorf("--no-backup leaves no more room for the unpacked backup: %v", err)
			}
			if slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, "stop") || strings.HasPrefix(c, "start") }) {
				t.Errorf("jobs ran: %v", te.sd.calls)
			}
			if u := te.sd.get(unit); u.ActiveState != "active" {
				t.Errorf("the server is %s", u.ActiveState)
			}
			if after, _ := os.ReadDir(dayops.BackupDir(te.Layout, "srv1")); len(after) != len(before) {
				t.Errorf("backups dir had %d entries, now %d", len(before), len(after))
			}
			if !exists(filepath.Join(rt, "upper", "left4dead2", "demo.dem")) || exists(filepath.Join(rt, "upper.restore")) {
				t.Errorf("the upper layer changed")
			}
		})
	}
}

// Inodes run out as space does (ENOSPC): a restore whose backup makes
// more files than the runtime's filesystem can still make is refused
// before the server is stopped (hostile review: it used to stop the
// server, fail with "no space left on device" and start it again).
func TestInodesBeforeStop(t *testing.T) {
	testroot.Require(t, "to mount a tmpfs with few inodes")
	te := newEnv(t)
	te.Euid = 0
	unit := clienv.UnitOf("srv1")
	tmpfsAt(t, te.Layout.RuntimeRoot(), nil, func() {
		rt := withRuntime(t, te, "srv1")
		mkdirs(t, filepath.Join(rt, "upper", "left4dead2", "logs"))
		for i := range 300 {
			writeFile(t, filepath.Join(rt, "upper", "left4dead2", "logs", "l"+strconv.Itoa(i)+".log"), "x\n")
		}
		if err := te.run("backup", "srv1"); err != nil {
			t.Fatal(err)
		}
	}, 32<<20)
	var st unix.Statfs_t
	if err := unix.Statfs(te.Layout.RuntimeRoot(), &st); err != nil {
		t.Fatal(err)
	}
	used := int64(st.Files - st.Ffree)
	if err := unix.Mount("tmpfs", te.Layout.RuntimeRoot(), "tmpfs", unix.MS_REMOUNT, "nr_inodes="+strconv.FormatInt(used+100, 10)); err != nil {
		t.Fatal(err)
	}
	te.sd.set(unit, "active", "running")
	te.sd.calls = nil
	err := te.run("restore", "srv1", "--yes", "--no-backup")
	if !errors.Is(err, dayops.ErrNoRoom) || !strings.Contains(err.Error(), "inodes on the filesystem of "+te.Layout.RuntimeDir("srv1")) || !strings.Contains(err.Error(), "can make ") {
		t.Fatalf("want a refusal for want of inodes, got %v", err)
	}
	if slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, "stop") }) {
		t.Errorf("stopped for a restore that could only fail: %v", te.sd.calls)
	}
}
