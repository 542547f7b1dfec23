package prestart

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/tests/testroot"
)

// pinDir is a pin directory below a fresh temporary directory; every pin
// mounted in it is unmounted at the end.
func pinDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run", "idmap")
	t.Cleanup(func() {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			_ = unix.Unmount(filepath.Join(dir, e.Name()), unix.MNT_DETACH)
		}
	})
	return dir
}

// nsIno is the namespace's identity: its nsfs inode.
func nsIno(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestIdmapPin(t *testing.T) {
	testroot.Require(t, "to mount overlayfs")
	dir := pinDir(t)
	first, err := pinnedIdmap(dir, testUID, testGID)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(first)
	second, err := pinnedIdmap(dir, testUID, testGID)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(second)
	if a, b := nsIno(t, first), nsIno(t, second); a != b {
		t.Errorf("the second start got a new user namespace (%d, first %d): nothing was pinned", b, a)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil || st.Mode&0o777 != 0o700 || st.Uid != 0 {
		t.Errorf("pin directory: %v, mode %#o owner %d; want 0700 root", err, st.Mode&0o777, st.Uid)
	}
	// Another server user: another mapping, another namespace.
	other, err := pinnedIdmap(dir, testUID+1, testGID+1)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	if nsIno(t, other) == nsIno(t, first) {
		t.Error("uid+1 got the namespace pinned for uid")
	}

	// Unmounted by hand: the next start pins a new one on the file left.
	pin := filepath.Join(dir, fmt.Sprintf("userns-%d-%d", testUID, testGID))
	if err := unix.Unmount(pin, unix.MNT_DETACH); err != nil { // our fds hold it
		t.Fatal(err)
	}
	again, err := pinnedIdmap(dir, testUID, testGID)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(again)
	if nsIno(t, again) == nsIno(t, first) {
		t.Error("after the unmount the old namespace came back")
	}
	if reopened, err := pinnedIdmap(dir, testUID, testGID); err != nil || nsIno(t, reopened) != nsIno(t, again) {
		t.Errorf("the re-pinned namespace was not kept: %v", err)
	} else {
		unix.Close(reopened)
	}
}

func TestIdmapPinRefuses(t *testing.T) {
	testroot.Require(t, "to mount overlayfs")
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"a directory others can read", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "must be root's alone"},
		{"a directory of another user", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, testUID, testGID); err != nil {
				t.Fatal(err)
			}
		}, "must be root's alone"},
		{"a link instead of the directory", func(t *testing.T, dir string) {
			victim := t.TempDir()
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, dir); err != nil {
				t.Fatal(err)
			}
		}, "not a directory"},
		{"another kind of namespace pinned there", func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			pin := filepath.Join(dir, fmt.Sprintf("userns-%d-%d", testUID, testGID))
			if err := os.WriteFile(pin, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mount("/proc/self/ns/net", pin, "", unix.MS_BIND, ""); err != nil {
				t.Fatal(err)
			}
		}, "not a user namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := pinDir(t)
			tc.setup(t, dir)
			fd, err := pinnedIdmap(dir, testUID, testGID)
			if err == nil {
				unix.Close(fd)
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q: want %q and the path %s", err, tc.want, dir)
			}
		})
	}
}

// BenchmarkIdmapPin is what a server's own uid costs the start helper: the
// first start of each uid in a boot creates and pins a user namespace for
// it; every later start opens the pin. (go test -bench IdmapPin ./prestart)
func BenchmarkIdmapPin(b *testing.B) {
	testroot.Require(b, "to pin namespaces")
	dir := filepath.Join(b.TempDir(), "idmap")
	b.Cleanup(func() {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			_ = unix.Unmount(filepath.Join(dir, e.Name()), unix.MNT_DETACH)
		}
	})
	b.Run("first start of a uid (new pin)", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			fd, err := pinnedIdmap(dir, 70000+i, 70000+i)
			if err != nil {
				b.Fatal(err)
			}
			unix.Close(fd)
		}
	})
	b.Run("later start (pinned)", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			fd, err := pinnedIdmap(dir, 70000, 70000)
			if err != nil {
				b.Fatal(err)
			}
			unix.Close(fd)
		}
	})
}
