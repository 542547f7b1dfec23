package clienv

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec/layout"
)

// TestLockSpecFile: a spec file is locked for rewriting in place; a spec
// that is a symbolic link is refused with the hint, and in both cases the
// lock is free again after release (or the refusal).
func TestLockSpecFile(t *testing.T) {
	cfg := t.TempDir()
	dir := filepath.Join(cfg, "instances")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte("port: 27015\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(cfg, "elsewhere.yaml")
	if err := os.WriteFile(elsewhere, []byte("port: 27016\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "linked.yaml")); err != nil {
		t.Fatal(err)
	}
	e := &Env{Layout: layout.Layout{Root: t.TempDir(), ConfigDir: cfg}, Stdout: io.Discard, Stderr: io.Discard}
	for _, tc := range []struct{ name, wantErr string }{
		{"plain", ""},
		{"linked", "linked.yaml is a symbolic link, which the generator never follows; replace it with a regular file, then edit it"},
		{"plain", ""}, // the lock was released after the refusal
		{"gone", `unknown instance "gone": ` + filepath.Join(dir, "gone.yaml") + " is gone"},
		{"plain", ""},
	} {
		path, release, err := e.LockSpecFile(context.Background(), tc.name, "edit it")
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("%s: err %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if want := filepath.Join(dir, tc.name+".yaml"); path != want {
			t.Fatalf("%s: path %s, want %s", tc.name, path, want)
		}
		// Held until released: another command cannot take it meanwhile.
		if r, err := layout.TryLock(dir); !errors.Is(err, layout.ErrLocked) {
			if r != nil {
				r()
			}
			t.Fatalf("%s: the specs lock is not held while in use (%v)", tc.name, err)
		}
		release()
	}
	if b, _ := os.ReadFile(elsewhere); string(b) != "port: 27016\n" {
		t.Fatalf("the link's target changed: %q", b)
	}
}
