package versions

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/tests/testroot"
)

// writerID is the writer of these tests: neither root nor the tests' user.
const writerID = 64123

// asWriter runs script with sh in dir as the writer, as steamcmd runs.
func asWriter(t *testing.T, dir, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: writerID, Gid: writerID}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// reachable lets others pass through the test's temporary directory.
func reachable(t *testing.T, s Store) {
	t.Helper()
	for _, d := range []string{filepath.Dir(s.Root), s.Root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func owner(t *testing.T, path string) (uint32, uint32, uint32) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Uid, st.Gid, st.Mode
}

// An unprivileged writer updates over a root-owned base: it rewrites the
// base's files in place, deletes and creates, and the version it leaves
// is root's again, the base untouched.
func TestStageForAWriter(t *testing.T) {
	testroot.Require(t, "mount tests")
	s := newStore(t)
	reachable(t, s)
	base := s.Path(id1)
	before := snapshot(t, base)
	st, err := s.NewStageFor(base, &Writer{UID: writerID, GID: writerID})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Abort()
	if u, g, m := owner(t, st.Dir); u != 0 || g != writerID || m&0o777 != 0o710 {
		t.Errorf("stage directory %d:%d %o", u, g, m&0o777)
	}
	defer func() {
		if _, _, m := owner(t, st.Dir); m&0o777 != 0o700 {
			t.Errorf("after Finish, the stage directory has mode %o", m&0o777)
		}
	}()
	out, err := asWriter(t, st.Target, `set -e
printf v2 > left4dead2/who.txt
printf unchanged > left4dead2/keep.txt
rm left4dead2/gone.txt
rm -r gonedir
mkdir newdir && printf new > newdir/y
printf tool > tool && chmod 4755 tool
mkdir open && chmod 1777 open
printf w > open/w && chmod 666 open/w
chmod 600 left4dead2/mode.txt
`)
	if err != nil {
		t.Fatalf("the writer could not update: %v\n%s", err, out)
	}
	// Nor can it write anywhere else (the base through the stage's
	// parent, the store): it writes as itself.
	if out, err := asWriter(t, s.Root, "printf x > "+filepath.Join(base, "left4dead2/who.txt")); err == nil {
		t.Errorf("the writer wrote into the base: %s", out)
	}
	if out, err := asWriter(t, s.Root, "ls "+st.Dir); err == nil {
		t.Errorf("the writer listed the stage directory: %s", out)
	}
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, base); !sameSnapshot(before, got) {
		t.Fatalf("the base changed:\n%v", diff(before, got))
	}
	for rel, want := range map[string]string{"left4dead2/who.txt": "v2", "left4dead2/keep.txt": "unchanged", "newdir/y": "new", "deep/a/b/c.txt": "untouched dir"} {
		if b, err := os.ReadFile(filepath.Join(st.Upper, rel)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", rel, b, err, want)
		}
	}
	for _, gone := range []string{"left4dead2/gone.txt", "gonedir"} {
		if _, err := os.Lstat(filepath.Join(st.Upper, gone)); err == nil {
			t.Errorf("%s is back", gone)
		}
	}
	err = filepath.Walk(st.Upper, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if u, g, _ := owner(t, p); u != 0 || g != 0 {
			t.Errorf("%s is %d:%d, not root's", p, u, g)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, m := owner(t, filepath.Join(st.Upper, "tool")); m&(unix.S_ISUID|unix.S_ISGID) != 0 || m&0o777 != 0o755 {
		t.Errorf("tool keeps mode %o", m)
	}
	for rel, want := range map[string]uint32{"open": 0o755, "open/w": 0o644} {
		if _, _, m := owner(t, filepath.Join(st.Upper, rel)); m&0o7777 != want {
			t.Errorf("%s has mode %o, want %o", rel, m&0o7777, want)
		}
	}
	if _, _, m := owner(t, filepath.Join(st.Upper, "left4dead2/mode.txt")); m&0o777 != 0o600 {
		t.Errorf("mode.txt has mode %o", m&0o777)
	}
}

// What an installer never leaves is refused, naming it, on a first install
// and over a base.
func TestStageRefusesForAWriter(t *testing.T) {
	testroot.Require(t, "mount tests")
	for _, tc := range []struct{ name, script, want string }{
		{"fifo", "mkfifo pipe", "pipe: steamcmd left a FIFO"},
		{"hard link", "printf x > a && ln a b", "steamcmd left a hard link (2 names)"},
		{"socket", "python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")'", "sock: steamcmd left a socket"},
	} {
		for _, first := range []bool{true, false} {
			t.Run(tc.name+map[bool]string{true: " first install", false: " over a base"}[first], func(t *testing.T) {
				if strings.Contains(tc.script, "python3") {
					if _, err := exec.LookPath("python3"); err != nil {
						t.Skip("no python3 to bind a socket")
					}
				}
				s := newStore(t)
				reachable(t, s)
				base := s.Path(id1)
				if first {
					base = ""
				}
				st, err := s.NewStageFor(base, &Writer{UID: writerID, GID: writerID})
				if err != nil {
					t.Fatal(err)
				}
				defer st.Abort()
				if out, err := asWriter(t, st.Target, tc.script); err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				err = st.Finish()
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Finish = %v, want %q", err, tc.want)
				}
			})
		}
	}
}

// A base on a filesystem that cannot be idmapped (ramfs) fails with
// prestart.ErrNoIdmap and leaves no stage behind: game.Update then runs
// steamcmd as root.
func TestStageForAWriterWithoutIdmap(t *testing.T) {
	testroot.Require(t, "mount tests")
	s := newStore(t)
	base := s.Path(id2)
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("ramfs", base, "ramfs", 0, ""); err != nil {
		t.Skipf("no ramfs: %v", err)
	}
	defer unix.Unmount(base, unix.MNT_DETACH)
	writeTree(t, base, baseTree)
	_, err := s.NewStageFor(base, &Writer{UID: writerID, GID: writerID})
	if !errors.Is(err, prestart.ErrNoIdmap) {
		t.Fatalf("NewStageFor over ramfs: %v", err)
	}
	ents, _ := os.ReadDir(s.Dir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), stagingPrefix) {
			t.Errorf("left %s", e.Name())
		}
	}
}
