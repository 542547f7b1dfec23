package treetest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, map[string]string{"a/b.txt": "hi", "empty/": "", "a/link": "->b.txt"}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "a/b.txt")); err != nil || string(b) != "hi" {
		t.Errorf("a/b.txt: %q, %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "empty")); err != nil || !st.IsDir() {
		t.Errorf("empty/ is not a directory: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "a/link")); err != nil || target != "b.txt" {
		t.Errorf("a/link: %q, %v", target, err)
	}
	if err := Write(filepath.Join(dir, "a/b.txt"), map[string]string{"x": "y"}); err == nil {
		t.Error("a tree below a file was written")
	}
}
