package specfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 300, 4096, MaxSize, MaxSize + 10} {
		p := filepath.Join(dir, "s")
		want := bytes.Repeat([]byte("x"), size)
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(p)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if size > MaxSize {
			want = want[:MaxSize+1] // enough for the caller to say "too large"
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d bytes: read %d", size, len(got))
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(fifo); !errors.Is(err, ErrNotRegular) {
		t.Errorf("fifo (must not block): %v", err)
	}
	if _, err := Read(dir); !errors.Is(err, ErrNotRegular) {
		t.Errorf("directory: %v", err)
	}
}

// A spec that is a link is never followed: root would read the target and
// quote its lines in errors, or tell whether it exists.
func TestReadRefusesLinks(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "shadow")
	if err := os.WriteFile(secret, []byte("port: hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"to-secret.yaml": secret, "to-missing.yaml": filepath.Join(dir, "nope"), "to-dev.yaml": "/dev/zero"} {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		data, err := Read(p)
		if !errors.Is(err, ErrSymlink) || data != nil || bytes.Contains([]byte(err.Error()), []byte("hunter2")) {
			t.Errorf("%s: %q %v", name, data, err)
		}
	}
	if _, err := Read("/dev/zero"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("device: %v", err)
	}
}
