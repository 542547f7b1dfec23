package generator

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/spectest"
	"github.com/left4me/left4me/units"
)

// BenchmarkRun is one generator pass in-process (no exec, no runtime
// start-up): read and parse N specs and the port records of N started
// instances, write N drop-ins and N/2 links into a fresh output directory. Run it with TMPDIR on a tmpfs, as systemd gives
// generators a tmpfs below /run.
func BenchmarkRun(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			base := b.TempDir()
			c := units.Config{Layout: layout.Layout{ConfigDir: filepath.Join(base, "etc"), Root: filepath.Join(base, "state")},
				HelperDir: "/usr/lib/left4me"}
			dir := c.Layout.InstancesDir()
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			for i := range n {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("srv%d.yaml", i)), []byte(spectest.FrontEnd(i)), 0o644); err != nil {
					b.Fatal(err)
				}
				// As on a host where each has started once: the port
				// set its start was given (spec.ReadClaims reads it).
				rt := c.Layout.RuntimeDir(fmt.Sprintf("srv%d", i))
				if err := os.MkdirAll(filepath.Join(rt, layout.Merged), 0o755); err != nil {
					b.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(rt, layout.Ports), []byte("game 27015\nclient 28015\ntv 29015\nsteam 30015\n"), 0o600); err != nil {
					b.Fatal(err)
				}
			}
			out := filepath.Join(base, "out")
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				if err := os.RemoveAll(out); err != nil {
					b.Fatal(err)
				}
				if err := os.Mkdir(out, 0o755); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := Run(c, out)
				if err != nil || len(res.Instances) != n {
					b.Fatalf("%d instances, %v", len(res.Instances), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/spec")
		})
	}
}
