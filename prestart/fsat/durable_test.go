package fsat

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder notes each fsync: which file or directory, and what the target
// held at that moment.
type recorder struct {
	target string
	calls  []string
	fail   error
}

func (r *recorder) sync(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	held, _ := os.ReadFile(r.target)
	kind := "file"
	if st.IsDir() {
		kind = "dir"
	}
	r.calls = append(r.calls, kind+" "+filepath.Base(f.Name())+" target="+string(held))
	if r.fail != nil {
		return r.fail
	}
	return f.Sync()
}

// The data is flushed before the rename (the target still holds the old
// content), and the directory after it (the target holds the new): a power
// cut at any point leaves old or new, and a return means new on disk.
func TestWriteFileSyncsFileThenDir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		old       string // "" for no file
		noReplace bool
		wantErr   error
	}{
		{"replace", "old", false, nil},
		{"create", "", true, nil},
		{"create refuses an existing file", "old", true, fs.ErrExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "a.yaml")
			if tc.old != "" {
				if err := os.WriteFile(p, []byte(tc.old), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := &recorder{target: p}
			err := Writer{Sync: r.sync}.WriteFile(p, []byte("new"), WriteOptions{Perm: 0o640, NoReplace: tc.noReplace})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(r.calls) == 0 || !strings.HasPrefix(r.calls[0], "file .a.yaml.tmp") || !strings.HasSuffix(r.calls[0], "target="+tc.old) {
				t.Errorf("first sync %v: want the temporary file, before the rename", r.calls)
			}
			want := "new"
			if tc.wantErr != nil {
				want = tc.old
				if len(r.calls) != 1 {
					t.Errorf("syncs %v after a refused rename", r.calls)
				}
			} else if len(r.calls) != 2 || r.calls[1] != "dir "+filepath.Base(dir)+" target=new" {
				t.Errorf("syncs %v: want the directory last, after the rename", r.calls)
			}
			if got, _ := os.ReadFile(p); string(got) != want {
				t.Errorf("content %q, want %q", got, want)
			}
			if st, err := os.Stat(p); err == nil && tc.wantErr == nil && st.Mode().Perm() != 0o640 {
				t.Errorf("mode %v", st.Mode())
			}
			assertNoTemp(t, dir)
		})
	}
}

// A failed flush leaves the old content and no temporary file.
func TestWriteFileSyncFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &recorder{target: p, fail: errors.New("EIO")}
	if err := (Writer{Sync: r.sync}).WriteFile(p, []byte("new"), WriteOptions{Perm: 0o600}); err == nil {
		t.Fatal("no error")
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("content %q", got)
	}
	assertNoTemp(t, dir)
}

func TestRemoveSyncsDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := &recorder{target: p}
	w := Writer{Sync: r.sync}
	if err := w.RemoveFile(p); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 1 || !strings.HasPrefix(r.calls[0], "dir ") {
		t.Errorf("syncs %v", r.calls)
	}
	if err := w.RemoveFile(p); err != nil {
		t.Errorf("missing file: %v", err)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}
