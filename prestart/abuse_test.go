package prestart

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Each case plants something hostile, then Start must fail with a message
// naming it, leave nothing mounted and leave the file outside untouched.
func TestStartRefusesHostileTrees(t *testing.T) {
	cases := []struct {
		name  string
		plant func(t *testing.T, e *env, outside string)
		want  string
	}{
		{"upper cfg dir is a symlink out", func(t *testing.T, e *env, outside string) {
			mkdirs(t, e.path("runtime/srv/upper/left4dead2"))
			symlink(t, filepath.Dir(outside), e.path("runtime/srv/upper/left4dead2/cfg"))
		}, "upper/left4dead2/cfg: is (or passes through) a symbolic link"},
		{"upper game dir is a symlink out", func(t *testing.T, e *env, outside string) {
			mkdirs(t, e.path("runtime/srv/upper"))
			symlink(t, filepath.Dir(outside), e.path("runtime/srv/upper/left4dead2"))
		}, "upper/left4dead2: is (or passes through) a symbolic link"},
		{"overlay cfg is a symlink to a secret", func(t *testing.T, e *env, outside string) {
			p := e.path("overlays/top/left4dead2/cfg/server.cfg")
			rm(t, p)
			symlink(t, outside, p)
		}, "overlays/top/left4dead2/cfg/server.cfg: is (or passes through) a symbolic link"},
		{"overlay cfg dir is a symlink", func(t *testing.T, e *env, outside string) {
			p := e.path("overlays/top/left4dead2/cfg")
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			symlink(t, filepath.Dir(outside), p)
		}, "symbolic link"},
		{"overlay cfg hard link to a root-only file", func(t *testing.T, e *env, outside string) {
			p := e.path("overlays/top/left4dead2/cfg/server.cfg")
			rm(t, p)
			if err := os.Chmod(outside, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(outside, p); err != nil {
				t.Fatal(err)
			}
		}, "may not read it"},
		{"overlay cfg is a FIFO", func(t *testing.T, e *env, outside string) {
			p := e.path("overlays/top/left4dead2/cfg/server.cfg")
			rm(t, p)
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"overlay cfg is huge", func(t *testing.T, e *env, outside string) {
			p := e.path("overlays/top/left4dead2/cfg/server.cfg")
			if err := os.Truncate(p, MaxCfgSize+1); err != nil {
				t.Fatal(err)
			}
		}, "larger than"},
		{"overlay dir is a symlink out", func(t *testing.T, e *env, outside string) {
			if err := os.RemoveAll(e.path("overlays/top")); err != nil {
				t.Fatal(err)
			}
			symlink(t, filepath.Dir(outside), e.path("overlays/top"))
		}, "overlays[0]"},
		{"overlays root is a symlink", func(t *testing.T, e *env, outside string) {
			if err := os.Rename(e.path("overlays"), e.path("elsewhere")); err != nil {
				t.Fatal(err)
			}
			symlink(t, e.path("elsewhere"), e.path("overlays"))
		}, "symbolic link"},
		{"overlay missing", func(t *testing.T, e *env, outside string) {
			if err := os.RemoveAll(e.path("overlays/plain")); err != nil {
				t.Fatal(err)
			}
		}, "overlays[1] "},
		{"installation escapes the root", func(t *testing.T, e *env, outside string) {
			if err := os.RemoveAll(e.path("installation")); err != nil {
				t.Fatal(err)
			}
			symlink(t, filepath.Dir(outside), e.path("installation"))
		}, "game installation"},
		{"no game installed", func(t *testing.T, e *env, outside string) {
			rm(t, e.path("installation/srcds_linux"))
		}, "has no srcds_linux"},
		{"runtime dir writable by others", func(t *testing.T, e *env, outside string) {
			mkdirs(t, e.path("runtime/srv"))
			if err := os.Chown(e.path("runtime/srv"), testUID, testGID); err != nil {
				t.Fatal(err)
			}
		}, "must belong to root"},
		{"runtime dir is a symlink", func(t *testing.T, e *env, outside string) {
			mkdirs(t, e.path("runtime"))
			symlink(t, filepath.Dir(outside), e.path("runtime/srv"))
		}, "symbolic link"},
		{"stale server.cfg is a directory", func(t *testing.T, e *env, outside string) {
			mkdirs(t, e.path("runtime/srv/upper/left4dead2/cfg/server.cfg"))
		}, "it is a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "")
			outside := filepath.Join(t.TempDir(), "secret")
			mk(t, outside, "secret", 0o644)
			c.plant(t, e, outside)
			err := startSpec(e.c, "srv")
			t.Logf("refused with: %v", err)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if mounted(t, e.c.Layout.MergedDir("srv")) {
				t.Error("mounted despite the error")
			}
			entries, _ := os.ReadDir(filepath.Dir(outside))
			if read(t, outside) != "secret" || len(entries) != 1 {
				t.Errorf("outside directory changed: %v", entries)
			}
		})
	}
}

func TestNamesRefused(t *testing.T) {
	e := newEnv(t, "")
	for _, n := range []string{"../srv", "a/b", "", "..", "a\nb"} {
		if err := startSpec(e.c, n); err == nil || !strings.Contains(err.Error(), "invalid instance name") {
			t.Errorf("Start(%q): %v", n, err)
		}
		if err := Stop(e.c, n); err == nil {
			t.Errorf("Stop(%q) accepted", n)
		}
	}
}

func mkdirs(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, p string) {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func rm(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// Links planted by the server in its upper layer, aimed at another
// instance's tree and at a root-only file: staging unlinks them and creates
// fresh files, so neither target changes.
func TestStagingNeverWritesThroughLinks(t *testing.T) {
	e := newEnv(t, "")
	other := e.path("runtime/other/upper/left4dead2/cfg/server.cfg")
	mk(t, other, "other instance", 0o644)
	secret := filepath.Join(t.TempDir(), "shadow")
	mk(t, secret, "root only", 0o600)
	cfg := e.path("runtime/srv/upper/left4dead2/cfg")
	mkdirs(t, cfg)
	symlink(t, other, cfg+"/server.cfg")
	if err := os.Link(secret, cfg+"/server_top.cfg"); err != nil {
		t.Fatal(err)
	}
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	if read(t, other) != "other instance" || read(t, secret) != "root only" {
		t.Fatal("a link target was written")
	}
	if got := read(t, cfg+"/server_top.cfg"); got != "sv_top 1\n" {
		t.Fatalf("staged copy %q", got)
	}
}

// Helpers racing on one instance (a start by hand, systemd's start and
// stop) serialize on the instance lock: at most one mount results, never an
// error from a half-made tree.
func TestHelpersRacing(t *testing.T) {
	e := newEnv(t, "")
	merged := e.c.Layout.MergedDir("srv")
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			if i%4 == 3 {
				errs <- Stop(e.c, "srv")
				return
			}
			errs <- startSpec(e.c, "srv")
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := strings.Count(read(t, "/proc/self/mountinfo"), " "+merged+" "); n > 1 {
		t.Fatalf("%d mounts on %s", n, merged)
	}
}
