// Package loopfs mounts throwaway filesystems of a given size for tests
// that need a real one: a full disk, ext4's reserve for root.
package loopfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Ext4 mounts a fresh ext4 of size bytes on base/state, which it returns,
// with ext4's default reserve: 5 % of its blocks that only root may take,
// so that the host's root services work on a full disk. It is unmounted
// when the test ends.
func Ext4(t testing.TB, base string, size int64) string {
	t.Helper()
	img, state := filepath.Join(base, "state.img"), filepath.Join(base, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err == nil {
		err = errors.Join(f.Truncate(size), f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"mkfs.ext4", "-q", "-F", "-m", "5", img}, {"mount", "-o", "loop", img, state}} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", state).Run() })
	return state
}
