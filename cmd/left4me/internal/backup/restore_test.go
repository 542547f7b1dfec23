package backup

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
			err = Restore(runtime, archive(t, tc.hs...))
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
	must(t, Restore(runtime, r.Info))
	got, err := os.ReadFile(filepath.Join(runtime, "upper/left4dead2/logs/L1205000.log"))
	if err != nil || !strings.Contains(string(got), "started") {
		t.Errorf("restored %q %v", got, err)
	}
}
