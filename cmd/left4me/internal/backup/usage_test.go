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
	m, err := Measure(context.Background(), runtime)
	must(t, err)
	est := m.Estimate
	if m.Length < 1<<30 || m.Refusal() != nil {
		t.Errorf("Measure %+v: the sparse file's length, and no refusal", m)
	}
	r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{})
	must(t, err)
	if r.Size > est || est > 2*r.Size {
		t.Errorf("Estimate %d for a backup of %d bytes", est, r.Size)
	}
	unpacked, entries, err := Unpacked(context.Background(), r.Info, 4096)
	must(t, err)
	if entries < 4 {
		t.Errorf("Unpacked counted %d entries", entries)
	}
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
	if _, _, err := Unpacked(context.Background(), Info{Path: broken}, 4096); err == nil || !strings.Contains(err.Error(), broken) {
		t.Errorf("a truncated backup: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Unpacked(ctx, r.Info, 4096); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	if _, err := Measure(ctx, runtime); !errors.Is(err, context.Canceled) {
		t.Errorf("Measure canceled: %v", err)
	}
}

// What a backup would refuse is told by Measure before anything is
// stopped for it: a tree too deep, files too long (holes included), too
// much data.
func TestMeasureRefusal(t *testing.T) {
	runtime := t.TempDir()
	up := filepath.Join(runtime, "upper")
	deep := up
	for range maxDepth + 2 {
		deep = filepath.Join(deep, "d")
	}
	must(t, os.MkdirAll(deep, 0o755))
	f, err := os.Create(filepath.Join(up, "long"))
	must(t, err)
	must(t, f.Truncate(DefaultMaxLength+1))
	f.Close()
	m, err := Measure(context.Background(), runtime)
	must(t, err)
	if err := m.Refusal(); err == nil || !strings.Contains(err.Error(), "directories deep") {
		t.Errorf("too deep: %+v %v", m, err)
	}
	m.Deep = false
	if err := m.Refusal(); err == nil || !strings.Contains(err.Error(), "holes of sparse files included") {
		t.Errorf("too long: %+v %v", m, err)
	}
	for _, c := range []struct {
		m    Measured
		want string
	}{
		{Measured{Data: DefaultMaxBytes + 1}, "bytes of data"},
		{Measured{Data: DefaultMaxBytes, Length: DefaultMaxLength}, ""},
	} {
		err := c.m.Refusal()
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.m, err, c.want)
		}
	}
}
