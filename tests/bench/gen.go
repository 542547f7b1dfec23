package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/left4me/left4me/spec/spectest"
)

// peakRuns is how often each program runs, untimed, for its peak RSS.
const peakRuns = 3

// genResult is one N of the generator comparison.
type genResult struct {
	n           int
	l4m, fstab  series
	units, mnts int // output check: drop-ins and .mount units of the warm-up run
}

// setupGen writes N specs and an fstab of N tmpfs entries below dir.
func setupGen(dir string, n int) (cfgDir, fstab string, err error) {
	cfgDir = filepath.Join(dir, "etc")
	inst := filepath.Join(cfgDir, "instances")
	if err := os.MkdirAll(inst, 0o755); err != nil {
		return "", "", err
	}
	var tab strings.Builder
	for i := range n {
		if err := os.WriteFile(filepath.Join(inst, fmt.Sprintf("srv%d.yaml", i)), []byte(spectest.FrontEnd(i)), 0o644); err != nil {
			return "", "", err
		}
		fmt.Fprintf(&tab, "tmpfs /mnt/bench%d tmpfs defaults 0 0\n", i)
	}
	fstab = filepath.Join(dir, "fstab")
	return cfgDir, fstab, os.WriteFile(fstab, []byte(tab.String()), 0o644)
}

// outDirs makes fresh NORMAL EARLY LATE directories, as systemd hands a
// generator empty ones (on tmpfs, below /run/systemd).
func outDirs(base string) ([]string, error) {
	var ds []string
	for _, d := range []string{"normal", "early", "late"} {
		p := filepath.Join(base, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
		ds = append(ds, p)
	}
	return ds, nil
}

// genCase is one N, laid out and checked, ready to be timed.
type genCase struct {
	b        *bench
	dir      string
	res      *genResult
	perRound int // ABBA pairs per round
	l4m, fst func(out []string) request
}

// prepareGenerator writes N specs and the fstab, warms both generators up
// while checking that each really produced N units (a SYSTEMD_FSTAB that is
// ignored would otherwise benchmark an empty fstab), and takes the untimed
// peak-RSS runs.
func (b *bench) prepareGenerator(n, perRound int) (*genCase, error) {
	dir := filepath.Join(b.scratch, fmt.Sprintf("gen%d", n))
	cfgDir, fstab, err := setupGen(dir, n)
	if err != nil {
		return nil, err
	}
	g := &genCase{b: b, dir: dir, res: &genResult{n: n}, perRound: perRound}
	g.l4m = func(out []string) request {
		return request{Op: "exec", Argv: append([]string{b.bin("left4me-generator")}, out...),
			Env:    []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LEFT4ME_CONFIG_DIR=" + cfgDir, "LEFT4ME_ROOT=" + filepath.Join(dir, "state")},
			Stderr: filepath.Join(dir, "l4m.err")}
	}
	g.fst = func(out []string) request {
		return request{Op: "exec", Argv: append([]string{b.fstabGen}, out...),
			Env:    []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_FSTAB=" + fstab},
			Stderr: filepath.Join(dir, "fstab.err")}
	}
	checkL4m := func(normal string) error {
		m, _ := filepath.Glob(filepath.Join(normal, "l4d2@*.service.d", "50-left4me-spec.conf"))
		if g.res.units = len(m); g.res.units != n {
			return fmt.Errorf("left4me-generator wrote %d drop-ins for %d specs", len(m), n)
		}
		return nil
	}
	checkFstab := func(normal string) error {
		m, _ := filepath.Glob(filepath.Join(normal, "mnt-bench*.mount"))
		if g.res.mnts = len(m); g.res.mnts != n {
			return fmt.Errorf("systemd-fstab-generator wrote %d .mount units for %d fstab entries: "+
				"it does not honour SYSTEMD_FSTAB on this systemd", len(m), n)
		}
		return nil
	}
	if err := g.one(g.l4m, nil, false, checkL4m); err != nil {
		return nil, err
	}
	if err := g.one(g.fst, nil, false, checkFstab); err != nil {
		return nil, err
	}
	for range peakRuns {
		if err := g.one(g.l4m, &g.res.l4m, true, nil); err != nil {
			return nil, err
		}
		if err := g.one(g.fst, &g.res.fstab, true, nil); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// one runs a generator once into fresh output directories; with peak set,
// untimed, for its peak RSS.
func (g *genCase) one(mk func([]string) request, into *series, peak bool, check func(string) error) error {
	base := filepath.Join(g.dir, "out")
	out, err := outDirs(base)
	if err != nil {
		return err
	}
	req := mk(out)
	if peak {
		req.Op = "peak"
	}
	r, err := g.b.l.do(req)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(out[0]); err != nil {
			return err
		}
	}
	switch {
	case into != nil && peak:
		into.addPeak(r)
	case into != nil:
		into.add(r)
	}
	return os.RemoveAll(base) // untimed: systemd hands each run empty directories
}

// round runs perRound pairs, left4me first in even pairs and
// systemd-fstab-generator first in odd ones (ABBA), so drift and any
// first/second-position effect cancel out in the ratio.
func (g *genCase) round() error {
	for i := range g.perRound {
		a := func() error { return g.one(g.l4m, &g.res.l4m, false, nil) }
		f := func() error { return g.one(g.fst, &g.res.fstab, false, nil) }
		if (len(g.res.l4m.wall)+i)%2 == 1 {
			a, f = f, a
		}
		if err := a(); err != nil {
			return fmt.Errorf("%d specs: %w", g.res.n, err)
		}
		if err := f(); err != nil {
			return fmt.Errorf("%d specs: %w", g.res.n, err)
		}
	}
	return nil
}

// benchGenerators compares the generators at every N. The sizes are
// interleaved: each of the rounds runs a few pairs of every N, so load on
// the machine that comes and goes lands on all sizes alike and the growth
// from one N to the next is measured under the same conditions.
func (b *bench) benchGenerators(ns []int, rounds int, perRound func(int) int) ([]*genResult, error) {
	var cases []*genCase
	defer func() {
		for _, g := range cases {
			os.RemoveAll(g.dir)
		}
	}()
	for _, n := range ns {
		g, err := b.prepareGenerator(n, perRound(n))
		if err != nil {
			return nil, fmt.Errorf("%d specs: %w", n, err)
		}
		cases = append(cases, g)
	}
	for r := range rounds {
		for j := range cases {
			if err := cases[(r+j)%len(cases)].round(); err != nil {
				return nil, err
			}
		}
	}
	var out []*genResult
	for _, g := range cases {
		out = append(out, g.res)
	}
	return out, nil
}
