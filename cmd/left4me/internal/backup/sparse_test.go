package backup

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A sparse file counts for the data it holds, not its length: a 6 GiB
// file of holes is backed up (quickly, and small), and restored as holes
// with its data where it was.
func TestSparse(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name string
		size int64
		data map[int64]string // offset → bytes written there
	}{
		{"only holes", 6 * gib, nil},
		{"data here and there", 6 * gib, map[int64]string{0: "head", 3*gib + 5: "middle", 6*gib - 4: "tail"}},
		{"a hole at the end", 5 * gib, map[int64]string{1 << 20: "data"}},
		{"small with a hole", 1 << 20, map[int64]string{0: "a", 1<<20 - 1: "z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime, up := bare(t)
			write(t, filepath.Join(up, "before"), "before")
			write(t, filepath.Join(up, "z-after"), "after")
			p := filepath.Join(up, "odd", "sparse")
			write(t, p, "")
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			must(t, err)
			must(t, f.Truncate(tc.size))
			for off, s := range tc.data {
				_, err := f.WriteAt([]byte(s), off)
				must(t, err)
			}
			must(t, f.Close())
			start := time.Now()
			r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{MaxBytes: 1 << 20})
			must(t, err)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("the backup took %v", d)
			}
			if r.Size > 64<<10 {
				t.Errorf("the backup is %d bytes", r.Size)
			}
			es := entries(t, r.Path)
			if h := es["odd/sparse"]; h == nil || h.Size != tc.size {
				t.Fatalf("odd/sparse in the archive: %+v", h)
			}
			if es["before"] == nil || es["z-after"] == nil || len(es) != 5 {
				t.Errorf("entries %v", es)
			}
			must(t, os.Remove(p))
			start = time.Now()
			must(t, Restore(context.Background(), runtime, r.Info, RestoreOptions{}))
			t.Logf("restore: %v", time.Since(start))
			var st unix.Stat_t
			must(t, unix.Stat(p, &st))
			if st.Size != tc.size || st.Blocks*512 > int64(len(tc.data))*(128<<10) {
				t.Errorf("restored size %d, %d bytes allocated", st.Size, st.Blocks*512)
			}
			f, err = os.Open(p)
			must(t, err)
			defer f.Close()
			for off, s := range tc.data {
				b := make([]byte, len(s))
				if _, err := f.ReadAt(b, off); err != nil || string(b) != s {
					t.Errorf("at %d: %q %v, want %q", off, b, err, s)
				}
			}
			if b, _ := os.ReadFile(filepath.Join(up, "z-after")); string(b) != "after" {
				t.Errorf("the entry after the sparse file: %q", b)
			}
			// GNU tar reads the format too.
			if _, err := exec.LookPath("tar"); err == nil {
				out, err := exec.Command("tar", "-tvzf", r.Path).CombinedOutput()
				if err != nil || !strings.Contains(string(out), " odd/sparse\n") || bytes.Contains(out, []byte("GNUSparse")) {
					t.Errorf("GNU tar lists: %s %v", out, err)
				}
			}
		})
	}
}

// extents maps the data between holes; past maxSegments pieces, the rest
// is one piece (zeros and all), so the map stays readable (Go's reader
// refuses one over 1 MiB) and what it stores is counted.
func TestExtents(t *testing.T) {
	const blk = 4096
	for _, tc := range []struct {
		name   string
		size   int64
		at     []int64 // a byte written at each
		clip   int64   // extents of the first clip bytes; 0 = size
		want   []segment
		wantN  int // len of the map when want is nil
		lastTo int64
	}{
		{"empty", 0, nil, 0, nil, 0, 0},
		{"dense", 10, []int64{0, 9}, 0, []segment{{0, 10}}, 0, 0},
		{"holes", 100 * blk, []int64{0, 50 * blk, 100*blk - 1}, 0, []segment{{0, blk}, {50 * blk, blk}, {99 * blk, blk}}, 0, 0},
		{"only a hole", 1 << 30, nil, 0, nil, 0, 0},
		{"clipped", 100 * blk, []int64{0, 50 * blk}, 10, []segment{{0, 10}}, 0, 0},
		{"too many pieces", (maxSegments + 100) * 2 * blk, nil, 0, nil, maxSegments, (maxSegments + 100) * 2 * blk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			must(t, err)
			defer f.Close()
			must(t, f.Truncate(tc.size))
			at := tc.at
			if tc.wantN > 0 {
				for off := int64(0); off < tc.size; off += 2 * blk {
					at = append(at, off)
				}
			}
			for _, off := range at {
				_, err := f.WriteAt([]byte{'x'}, off)
				must(t, err)
			}
			clip := tc.size
			if tc.clip > 0 {
				clip = tc.clip
			}
			segs, err := extents(int(f.Fd()), clip)
			must(t, err)
			if tc.wantN > 0 {
				last := segs[len(segs)-1]
				if len(segs) != tc.wantN || last.off+last.n != tc.lastTo {
					t.Errorf("%d pieces, the last %+v", len(segs), last)
				}
				if m := sparseMap(segs, tc.size); len(m) > 1<<20 {
					t.Errorf("a map of %d bytes", len(m))
				}
				return
			}
			if len(segs) != len(tc.want) {
				t.Fatalf("got %v, want %v", segs, tc.want)
			}
			for i := range segs {
				if segs[i] != tc.want[i] {
					t.Errorf("got %v, want %v", segs, tc.want)
				}
			}
		})
	}
}
