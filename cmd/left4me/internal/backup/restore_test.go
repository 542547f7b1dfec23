package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/left4me/left4me/tests/treetest"
)

// goexit ends the goroutine as a kill would end the process: no more of
// the code runs (its defers do, which close descriptors only).
func goexit() { runtime.Goexit() }

// archive writes a crafted backup, each file of x's.
func archive(t *testing.T, hs ...*tar.Header) Info {
	t.Helper()
	return archiveWith(t, func(h *tar.Header) []byte { return []byte(strings.Repeat("x", int(h.Size))) }, hs...)
}

// archiveWith writes a crafted backup, each file's content from content.
func archiveWith(t *testing.T, content func(*tar.Header) []byte, hs ...*tar.Header) Info {
	t.Helper()
	path := filepath.Join(t.TempDir(), "20261205T190000Z.tar.gz")
	f, err := os.Create(path)
	must(t, err)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for _, h := range hs {
		must(t, tw.WriteHeader(h))
		if h.Size > 0 {
			_, err := tw.Write(content(h))
			must(t, err)
		}
	}
	must(t, errors.Join(tw.Close(), gz.Close(), f.Close()))
	return Info{ID: "20261205T190000Z", Path: path}
}

// A backup file is root's, but what it holds came from the server: a
// restore never writes outside the new upper layer, and a refused restore
// leaves the old one as it was.
func TestRestoreRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		hs   []*tar.Header
		want string
	}{
		{"dot-dot", []*tar.Header{{Name: "../escape", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}}, "not a plain relative path"},
		{"absolute", []*tar.Header{{Name: "/etc/escape", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}}, "not a plain relative path"},
		{"through a link", []*tar.Header{
			{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
			{Name: "l/escape", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
		}, "not a directory"},
		{"a device", []*tar.Header{{Name: "sda", Typeflag: tar.TypeChar, Devmajor: 8, Mode: 0o600}}, "a device"},
		{"a hard link", []*tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/shadow"}}, "is not one a backup holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime, _ := fixture(t)
			before, err := os.ReadFile(filepath.Join(runtime, "upper/left4dead2/cfg/banned_user.cfg"))
			must(t, err)
			err = Restore(context.Background(), runtime, archive(t, tc.hs...), RestoreOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			after, err := os.ReadFile(filepath.Join(runtime, "upper/left4dead2/cfg/banned_user.cfg"))
			if err != nil || string(after) != string(before) {
				t.Errorf("the upper layer changed: %q %v", after, err)
			}
			for _, p := range []string{"/tmp/escape", filepath.Join(runtime, "escape"), filepath.Join(runtime, restoring)} {
				if _, err := os.Lstat(p); err == nil {
					t.Errorf("%s exists", p)
				}
			}
		})
	}
}

// A restore with no upper layer (reset since) puts one in place; a backup
// removes the temporary files a killed one left.
func TestRestoreWithoutUpperAndStaleTemp(t *testing.T) {
	runtime, _ := fixture(t)
	dir := filepath.Join(t.TempDir(), "b")
	must(t, os.MkdirAll(dir, 0o700))
	write(t, filepath.Join(dir, ".20261205T180000Z.123.tmp"), "half a backup")
	r, err := Create(runtime, dir, t0, Options{})
	must(t, err)
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("left: %v", left)
	}
	must(t, os.RemoveAll(filepath.Join(runtime, "upper")))
	must(t, Restore(context.Background(), runtime, r.Info, RestoreOptions{}))
	got, err := os.ReadFile(filepath.Join(runtime, "upper/left4dead2/logs/L1205000.log"))
	if err != nil || !strings.Contains(string(got), "started") {
		t.Errorf("restored %q %v", got, err)
	}
}

// afterCalls is a context that ends once its Err was asked n times: a
// Ctrl-C in the middle of a restore, at a point the test picks.
type afterCalls struct {
	context.Context
	n    int
	done chan struct{}
}

func (c *afterCalls) Err() error {
	if c.n--; c.n < 0 {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
		return context.Canceled
	}
	return nil
}

func (c *afterCalls) Done() <-chan struct{} { return c.done }

// A backup or a restore stopped halfway (a Ctrl-C: its context, Done)
// leaves nothing: no backup file, nothing beside the upper layer, which
// is as it was; the error says it was canceled.
func TestStoppedHalfway(t *testing.T) {
	runtime, _ := fixture(t)
	for i := range 20 {
		write(t, filepath.Join(runtime, "upper/left4dead2/maps", strconv.Itoa(i)+".vpk"), strings.Repeat("m", 100<<10))
	}
	dir := filepath.Join(t.TempDir(), "b")
	done := make(chan struct{})
	copied := 0
	_, err := Create(runtime, dir, t0, Options{Done: done, Changed: func(string) {
		if copied++; copied == 3 {
			close(done)
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("backup: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left in %s: %v", dir, left)
	}
	r, err := Create(runtime, dir, t0, Options{})
	must(t, err)
	cfg := filepath.Join(runtime, "upper/left4dead2/cfg/banned_user.cfg")
	write(t, cfg, "newer\n")
	for _, n := range []int{0, 1, 5, 30} {
		ctx := &afterCalls{Context: context.Background(), n: n, done: make(chan struct{})}
		err := Restore(ctx, runtime, r.Info, RestoreOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("restore stopped after %d: %v", n, err)
		}
		if got, _ := os.ReadFile(cfg); string(got) != "newer\n" {
			t.Errorf("stopped after %d: the upper layer holds %q", n, got)
		}
		if l, err := FindLeft(runtime); err != nil || l.Any() {
			t.Errorf("stopped after %d: left %+v (%v)", n, l, err)
		}
	}
}

// What a restore killed before or after the swap leaves is told apart by
// its note, and ClearLeft removes it, never the upper layer.
func TestFindLeft(t *testing.T) {
	for _, placed := range []bool{false, true} {
		runtime, _ := fixture(t)
		r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{})
		must(t, err)
		cfg := filepath.Join(runtime, "upper/left4dead2/cfg/banned_user.cfg")
		write(t, cfg, "newer\n")
		died := make(chan struct{})
		go func() { // killed at the swap: runtime.Goexit runs no more of it
			defer close(died)
			Restore(context.Background(), runtime, r.Info, RestoreOptions{Undo: "20261205T180000Z", Swap: func(put func() error) error {
				if placed {
					if err := put(); err != nil {
						t.Error(err)
					}
				}
				goexit()
				return nil
			}})
		}()
		<-died
		l, err := FindLeft(runtime)
		want := Left{Path: filepath.Join(runtime, restoring), Note: filepath.Join(runtime, restoringNote), Backup: r.ID, Undo: "20261205T180000Z", Placed: NotPlaced, PID: os.Getpid()}
		if placed {
			want.Placed = WasPlaced
		}
		if err != nil || l != want {
			t.Errorf("placed %v: found %+v (%v), want %+v", placed, l, err, want)
		}
		if _, err := ClearLeft(runtime); err != nil {
			t.Fatal(err)
		}
		if l, err := FindLeft(runtime); err != nil || l.Any() {
			t.Errorf("placed %v: after ClearLeft %+v (%v)", placed, l, err)
		}
		got, _ := os.ReadFile(cfg)
		if placed != (string(got) != "newer\n") {
			t.Errorf("placed %v: the upper layer holds %q", placed, got)
		}
	}
}

// A backup put in place whose replaced tree cannot all be removed (an
// immutable file there) is said as restored with something left, not as
// a restore that failed (hostile review): upper/ is the backup.
func TestRestoreReplacedLeft(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a file immutable")
	}
	runtime := t.TempDir()
	stuck := filepath.Join(runtime, "upper", "stuck")
	must(t, os.MkdirAll(filepath.Dir(stuck), 0o755))
	must(t, os.WriteFile(stuck, []byte("old\n"), 0o644))
	if err := treetest.Immutable(stuck, true); err != nil {
		t.Skipf("this filesystem keeps no immutable flag: %v", err)
	}
	t.Cleanup(func() {
		_ = treetest.Immutable(filepath.Join(runtime, restoring, "stuck"), false)
		_ = treetest.Immutable(stuck, false)
	})
	b := archive(t, &tar.Header{Name: "new.cfg", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3})
	err := Restore(context.Background(), runtime, b, RestoreOptions{})
	if !errors.Is(err, ErrReplacedLeft) {
		t.Fatalf("got %v, want ErrReplacedLeft", err)
	}
	if got, err := os.ReadFile(filepath.Join(runtime, "upper", "new.cfg")); err != nil || string(got) != "xxx" {
		t.Errorf("upper/ is not the backup: %q %v", got, err)
	}
	l, err := FindLeft(runtime)
	if err != nil || !l.Any() || l.Placed != WasPlaced {
		t.Errorf("FindLeft %+v %v: want what was replaced, placed", l, err)
	}
}
