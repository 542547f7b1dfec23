package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scale is how hard the reliability tests push. `make test` runs the
// quick one; `make reliability` (LEFT4ME_RELIABILITY=full) the host-sized
// one the issue asks for.
type scale struct {
	name       string
	instances  int // started at once through l4d2.target, and rebooted
	cycles     int // start/stop cycles over random instances
	kills      int // kill -9 of running servers
	killPoints int // random kill -9 points per CLI operation
	powerCuts  int // random power cuts per CLI operation
}

// skipForFullRun skips the host-sized tests under
// LEFT4ME_RELIABILITY=later: .ci/run runs them once, at full scale, by
// `make reliability` right after `make test`, instead of twice.
func skipForFullRun(t *testing.T) {
	if os.Getenv("LEFT4ME_RELIABILITY") == "later" {
		t.Skip("LEFT4ME_RELIABILITY=later: make reliability runs this at full scale")
	}
}

func relScale() scale {
	if os.Getenv("LEFT4ME_RELIABILITY") == "full" {
		return scale{name: "full", instances: 50, cycles: 200, kills: 20, killPoints: 20, powerCuts: 3}
	}
	return scale{name: "quick", instances: 10, cycles: 20, kills: 8, killPoints: 2, powerCuts: 1}
}

// seededRand returns a generator seeded from LEFT4ME_SEED or the clock,
// and logs the seed so a failing run can be repeated.
func seededRand(t *testing.T) (*rand.Rand, uint64) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LEFT4ME_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("LEFT4ME_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("random seed %d (LEFT4ME_SEED=%d repeats this run)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed
}

// figures collects one test's figures for build/reliability.txt. Each
// figure the test declares must be reported, and one reported as failed
// fails the test: a run that misses one is no pass.
type figures struct {
	t     *testing.T
	scale string
	want  []string
	got   map[string]bool
	lines []string
}

func newFigures(t *testing.T, sc scale, want ...string) *figures {
	f := &figures{t: t, scale: sc.name, want: want, got: map[string]bool{}}
	t.Cleanup(f.write)
	return f
}

// add reports figure key as a line; ok false marks it failed.
func (f *figures) add(key string, ok bool, format string, args ...any) {
	f.t.Helper()
	line := fmt.Sprintf(format, args...)
	if !ok {
		line += "  [FAILED]"
		f.t.Errorf("figure %s: %s", key, line)
	}
	f.got[key] = true
	f.lines = append(f.lines, line)
	f.t.Log(line)
}

// write replaces this test's section of build/reliability.txt, keeping
// the other tests' sections.
func (f *figures) write() {
	for _, k := range f.want {
		if !f.got[k] {
			f.t.Errorf("figure %q was not reported", k)
			f.lines = append(f.lines, k+": NOT REPORTED  [FAILED]")
		}
	}
	p := filepath.Join(repoRoot(f.t), "build", "reliability.txt")
	head := "== " + f.t.Name() + " "
	sections := map[string]string{}
	var order []string
	old, _ := os.ReadFile(p)
	cur := ""
	for _, l := range strings.SplitAfter(string(old), "\n") {
		if strings.HasPrefix(l, "== ") {
			cur = strings.SplitN(l, " ", 3)[1]
			order = append(order, cur)
		}
		if cur != "" {
			sections[cur] += l
		}
	}
	sec := fmt.Sprintf("%s(scale %s, %s):\n", head, f.scale, time.Now().UTC().Format(time.RFC3339))
	for _, l := range f.lines {
		sec += "  " + l + "\n"
	}
	name := f.t.Name()
	if _, ok := sections[name]; !ok {
		order = append(order, name)
	}
	sections[name] = sec
	body := "Reliability figures (tests/e2e; make test runs the quick scale, make reliability the full one):\n"
	for _, n := range order {
		body += sections[n]
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		f.t.Logf("write %s: %v", p, err)
	}
}
