package fsat

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/left4me/left4me/tests/testroot"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/tests/treetest"
)

func mk(t *testing.T, root string, files map[string]string) {
	t.Helper()
	if err := treetest.Write(root, files); err != nil {
		t.Fatal(err)
	}
}

func TestRemove(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	mk(t, victim, map[string]string{"keep.txt": "keep", "sub/keep.txt": "keep"})
	tree := filepath.Join(base, "tree")
	mk(t, tree, map[string]string{
		"a.txt": "a", "d/b.txt": "b", "d/e/f/g.txt": "g",
		"link-dir": "->" + victim, "d/link-file": "->" + victim + "/keep.txt",
	})
	if err := os.Mkdir(filepath.Join(tree, "ro"), 0o500); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(tree, "d/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTree(tree, RemoveOptions{Chmod: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Fatalf("tree still there: %v", err)
	}
	for _, p := range []string{"keep.txt", "sub/keep.txt"} {
		if b, err := os.ReadFile(filepath.Join(victim, p)); err != nil || string(b) != "keep" {
			t.Errorf("victim %s: %q %v", p, b, err)
		}
	}
	if err := RemoveTree(tree, RemoveOptions{}); err != nil {
		t.Errorf("missing tree: %v", err)
	}
	// A link in place of the tree is removed, not followed.
	if err := os.Symlink(victim, tree); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTree(tree, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(victim, "keep.txt")); err != nil {
		t.Errorf("victim behind a top-level link: %v", err)
	}
}

// A mount inside the tree is refused, never emptied.
func TestRemoveRefusesMounts(t *testing.T) {
	testroot.Require(t, "to mount")
	tree := filepath.Join(t.TempDir(), "tree")
	mk(t, tree, map[string]string{"x/keep": ""})
	if err := unix.Mount("tmpfs", filepath.Join(tree, "x"), "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	defer unix.Unmount(filepath.Join(tree, "x"), unix.MNT_DETACH)
	mk(t, filepath.Join(tree, "x"), map[string]string{"precious": "p"})
	if err := RemoveTree(tree, RemoveOptions{}); !errors.Is(err, ErrMounted) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(tree, "x", "precious")); err != nil {
		t.Errorf("the mount was emptied: %v", err)
	}
}

// Deeper than PATH_MAX, and deeper than the descriptors a process may
// hold: removed all the same.
func TestRemoveDeep(t *testing.T) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(t.TempDir(), "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(tree, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("d", 200)
	depth := int(min(lim.Cur, 4096)) + 100 // 200 bytes a level: far past PATH_MAX
	for range depth {
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	if err := unix.Mknodat(fd, "f", unix.S_IFREG|0o644, 0); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if err := RemoveTree(tree, RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tree); !os.IsNotExist(err) {
		t.Fatalf("still there: %v", err)
	}
}

// A wide tree (a server's upper layer with thousands of subdirectories
// in one directory, nested) is removed with each entry listed at most
// twice: each directory is listed on the way down and once more when its
// subdirectories are done. Listed again after each subdirectory (every
// remaining entry examined each time), 100,000 of them took hours.
func TestRemoveWideIsLinear(t *testing.T) {
	tree := filepath.Join(t.TempDir(), "tree")
	files := map[string]string{}
	entries := 2 // w and n
	for i := range 2000 {
		files[fmt.Sprintf("w/d%d/f", i)] = "x"
		entries += 2
	}
	for i := range 50 {
		files[fmt.Sprintf("n/d%d/e/f", i)] = "x"
		entries += 3
	}
	mk(t, tree, files)
	parent, err := unix.Open(filepath.Dir(tree), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(parent)
	var st unix.Stat_t
	if err := unix.Fstat(parent, &st); err != nil {
		t.Fatal(err)
	}
	w := walker{top: tree, dev: st.Dev}
	if err := w.empty(parent, "tree"); err != nil {
		t.Fatal(err)
	}
	if names, err := os.ReadDir(tree); err != nil || len(names) != 0 {
		t.Fatalf("left %d entries: %v", len(names), err)
	}
	if w.seen > 2*entries {
		t.Errorf("%d entries listed for %d in the tree, want at most %d", w.seen, entries, 2*entries)
	}
}

// The attack: while root removes a builder's tree, the builder swaps a
// directory of it with a link to a victim (renameat2 RENAME_EXCHANGE).
// Whatever the timing, nothing of the victim is deleted or chmodded.
func TestRemoveRacingSwap(t *testing.T) {
	base := t.TempDir()
	victim := filepath.Join(base, "victim")
	files := map[string]string{}
	for i := range 50 {
		files[filepath.Join("v", strings.Repeat("x", i%7+1)+string(rune('a'+i%26))+".txt")] = "keep"
	}
	mk(t, victim, files)
	if err := os.Chmod(filepath.Join(victim, "v"), 0o755); err != nil {
		t.Fatal(err)
	}
	for round := range 40 {
		tree := filepath.Join(base, "tree")
		layer := map[string]string{}
		for i := range 200 {
			layer[filepath.Join("a", "b", strings.Repeat("f", i%9+1)+string(rune('a'+i%26)))] = "junk"
		}
		mk(t, tree, layer)
		link := filepath.Join(base, "link")
		os.RemoveAll(link)
		if err := os.Symlink(filepath.Join(victim, "v"), link); err != nil {
			t.Fatal(err)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				_ = unix.Renameat2(unix.AT_FDCWD, link, unix.AT_FDCWD, filepath.Join(tree, "a", "b"), unix.RENAME_EXCHANGE)
			}
		}()
		err := RemoveTree(tree, RemoveOptions{Chmod: true})
		stop.Store(true)
		wg.Wait()
		_ = err // refused or done: either is fine; the victim is what counts
		os.RemoveAll(link)
		_ = RemoveTree(tree, RemoveOptions{})
		os.RemoveAll(tree)
		n := 0
		_ = filepath.Walk(victim, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				n++
			}
			return nil
		})
		fi, _ := os.Stat(filepath.Join(victim, "v"))
		if n != len(files) || fi == nil || fi.Mode().Perm() != 0o755 {
			t.Fatalf("round %d: the victim lost files (%d of %d left) or its mode (%v)", round, n, len(files), fi)
		}
	}
}
