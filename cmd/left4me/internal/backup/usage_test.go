package backup

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	runtime, _ := fixture(t)
	f, err := os.Create(filepath.Join(runtime, "upper", "big"))
	must(t, err)
	f.Write(make([]byte, 1<<20))
	f.Close()
	n, err := Usage(runtime)
	must(t, err)
	if n < 1<<20 || n > 2<<20 {
		t.Errorf("usage %d, want about 1 MiB (the link's target not counted)", n)
	}
}

// What the space checks before a reset or a restore count on: Estimate
// is at least what the backup of a tree takes, Unpacked at least what
// its restore takes on disk (blocks of the new tree), for many small
// files, a file gzip cannot shrink, an empty one, a sparse one and links;
// and neither is far above (twice at most here). A backup that cannot be
// read is said by Unpacked, and a canceled one stops.
func TestEstimateAndUnpacked(t *testing.T) {
	runtime, _ := fixture(t)
	up := filepath.Join(runtime, "upper")
	for i := range 300 {
		write(t, filepath.Join(up, "left4dead2/addons/sourcemod/data", strconv.Itoa(i)+".txt"), strings.Repeat("x", i*7))
	}
	noise := make([]byte, 3<<20)
	rand.Read(noise)
	must(t, os.WriteFile(filepath.Join(up, "demo.dem"), noise, 0o644))
	write(t, filepath.Join(up, "empty"), "")
	f, err := os.Create(filepath.Join(up, "sparse"))
	must(t, err)
	f.WriteAt([]byte("data"), 1<<30)
	f.Close()
	est, err := Estimate(runtime)
	must(t, err)
	r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{})
	must(t, err)
	if r.Size > est || est > 2*r.Size {
		t.Errorf("Estimate %d for a backup of %d bytes", est, r.Size)
	}
	unpacked, err := Unpacked(context.Background(), r.Info, 4096)
	must(t, err)
	must(t, Restore(context.Background(), runtime, r.Info, RestoreOptions{}))
	used, err := Usage(runtime)
	must(t, err)
	if used > unpacked || unpacked > 2*used {
		t.Errorf("Unpacked %d for a restore that took %d bytes", unpacked, used)
	}

	broken := filepath.Join(t.TempDir(), "20261205T190000Z.tar.gz")
	b, err := os.ReadFile(r.Path)
	must(t, err)
	must(t, os.WriteFile(broken, b[:len(b)/2], 0o600))
	if _, err := Unpacked(context.Background(), Info{Path: broken}, 4096); err == nil || !strings.Contains(err.Error(), broken) {
		t.Errorf("a truncated backup: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Unpacked(ctx, r.Info, 4096); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}
