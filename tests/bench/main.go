// Command bench is the driver behind `make bench` (tests/bench/run.sh). It
// lays out specs, fstab entries and overlays on a tmpfs it is given, runs the
// real binaries of `make build` against systemd's own fstab generator and a
// bare overlayfs mount, and prints a Markdown report (docs/PERFORMANCE.md).
//
// Usage (as root, from run.sh): bench -scratch TMPFS -bin DIR [flags]
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/tests/bench/hostinfo"
)

type bench struct {
	scratch, binDir string
	fstabGen        string
	mount, umount   string
	l               *launcher
	genRounds       int
	genPairs        func(int) int
	helpIters       int
}

func (b *bench) bin(name string) string { return filepath.Join(b.binDir, name) }

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "launch":
			launcherMain()
			return
		}
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func ints(s string) ([]int, error) {
	var out []int
	if s == "none" {
		return nil, nil
	}
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run() error {
	b := &bench{}
	flag.StringVar(&b.scratch, "scratch", "", "tmpfs directory for every input and output (required)")
	flag.StringVar(&b.binDir, "bin", "build", "directory holding the binaries of `make build`")
	flag.StringVar(&b.fstabGen, "fstab-gen", "/usr/lib/systemd/system-generators/systemd-fstab-generator", "systemd's fstab generator")
	ns := flag.String("n", "10,50", "instance specs / fstab entries per generator run (none: skip)")
	ks := flag.String("overlays", "1,10,50", "overlays per instance for the helpers (none: skip)")
	quick := flag.Bool("quick", false, "few iterations: checks that everything runs, numbers are rough")
	out := flag.String("o", "", "also write the report to this file")
	flag.Parse()
	genN, err := ints(*ns)
	if err != nil {
		return err
	}
	overlays, err := ints(*ks)
	if err != nil {
		return err
	}
	if b.scratch == "" {
		return fmt.Errorf("-scratch is required")
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(b.scratch, &fs); err != nil {
		return err
	}
	if fs.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("%s is not a tmpfs: the benchmark must not measure a disk", b.scratch)
	}
	for _, name := range []string{"left4me-generator", "left4me-prestart", "left4me-poststop", "noop"} {
		if _, err := os.Stat(b.bin(name)); err != nil {
			return fmt.Errorf("%w (make bench builds everything it runs)", err)
		}
	}
	if b.mount, err = exec.LookPath("mount"); err != nil {
		return err
	}
	if b.umount, err = exec.LookPath("umount"); err != nil {
		return err
	}
	// Rounds of the generator comparison, and ABBA pairs of each N per
	// round: 105, 60, 45 and 15 runs of each generator for the default Ns.
	b.genRounds = 15
	b.genPairs = func(n int) int {
		switch {
		case *quick:
			return 1
		case n <= 10:
			return 7
		case n <= 100:
			return 4
		case n <= 1000:
			return 3
		}
		return 1
	}
	if *quick {
		b.genRounds = 3
	}
	b.helpIters = 201
	if *quick {
		b.helpIters = 11
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if b.l, err = startLauncher(self); err != nil {
		return err
	}
	defer b.l.close()

	rep := &report{started: time.Now(), loadBefore: hostinfo.LoadAvg()}
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}

	if len(genN) > 0 {
		progress("generators, N=%v, interleaved in %d rounds...", genN, b.genRounds)
		if rep.gen, err = b.benchGenerators(genN, b.genRounds, b.genPairs); err != nil {
			return fmt.Errorf("generators: %w", err)
		}
	}
	maxK := 0
	for _, k := range overlays {
		maxK = max(maxK, k)
	}
	env, err := setupHelpers(filepath.Join(b.scratch, "helpers"), maxK)
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Join(b.scratch, "helpers"))
	binTrue, err := b.newFloor("/bin/true")
	if err != nil {
		return err
	}
	goNoop, err := b.newFloor(b.bin("noop"))
	if err != nil {
		return err
	}
	rep.binTrue, rep.goNoop = binTrue.s, goNoop.s
	progress("helpers (overlays %v) and process floors, interleaved, %d runs each...", overlays, b.helpIters)
	if rep.help, err = b.benchHelpers(env, overlays, []*floorCase{binTrue, goNoop}, b.helpIters); err != nil {
		return fmt.Errorf("helpers: %w", err)
	}
	rep.loadAfter = hostinfo.LoadAvg()
	rep.elapsed = time.Since(rep.started)
	rep.quick = *quick
	rep.fstabGen = b.fstabGen

	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	rep.write(w)
	return nil
}

type report struct {
	started               time.Time
	elapsed               time.Duration
	loadBefore, loadAfter string
	quick                 bool
	fstabGen              string
	binTrue, goNoop       *series
	gen                   []*genResult
	help                  []*helperResult
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	l, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(l)
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// Target limits, from issue 8.
const (
	maxRatio     = 1.0
	maxStartOver = time.Millisecond // start and stop helper, 10 overlays (issue 18)
	maxRSSKiB    = 20 * 1024
)

func (r *report) write(w io.Writer) {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("## Results")
	p("")
	if r.quick {
		p("**-quick run: too few samples for the numbers to mean much.**")
		p("")
	}
	p("- Machine: %d CPUs (`nproc`), %s, %s RAM, kernel %s", runtime.NumCPU(), cpuModel(), memTotal(), unix.ByteSliceToString(uts.Release[:]))
	p("- Date: %s; took %s; load average %s before, %s after", r.started.UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second), r.loadBefore, r.loadAfter)
	p("- %s; %s; left4me %s built with %s", firstLine("systemctl", "--version"), firstLine("mount", "--version"),
		firstLine("git", "describe", "--always", "--dirty"), runtime.Version())
	p("- Wall: from just before fork to just after reap, taken by the launcher; CPU: the child's user+system time (rusage). Peak RSS: VmHWM at exit (ptrace exit stop), largest of %d untimed runs.", peakRuns)
	p("")

	if len(r.gen) > 0 {
		p("### Generator: left4me-generator vs %s", filepath.Base(r.fstabGen))
		p("")
		p("Both get NORMAL EARLY LATE output directories on tmpfs, fresh for every run; left4me-generator reads N spec files, systemd-fstab-generator an fstab of N `tmpfs /mnt/benchI tmpfs defaults 0 0` lines (`SYSTEMD_FSTAB`). Runs alternate (ABBA), and the sizes are interleaved in rounds so that load on the machine lands on all of them alike.")
		p("")
		p("| N | runs | left4me-generator wall | systemd-fstab-generator wall | ratio | left4me CPU | fstab CPU | CPU ratio | left4me wall per spec | fstab wall per entry | left4me faults | fstab faults | left4me peak RSS | fstab peak RSS |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, g := range r.gen {
			lm, fm := g.l4m.median(), g.fstab.median()
			lc, fc := g.l4m.cpuMedian(), g.fstab.cpuMedian()
			p("| %d | %d | %s | %s | **%.2f** | %s | %s | %.2f | %.1f µs | %.1f µs | %d | %d | %s | %s |", g.n, len(g.l4m.wall), ms(lm), ms(fm), ratio(lm, fm),
				ms(lc), ms(fc), ratio(lc, fc),
				float64(lm)/float64(time.Microsecond)/float64(g.n), float64(fm)/float64(time.Microsecond)/float64(g.n),
				g.l4m.faultsMedian(), g.fstab.faultsMedian(), mib(g.l4m.maxRSS), mib(g.fstab.maxRSS))
		}
		p("")
		p("Medians; the ratio is left4me-generator / systemd-fstab-generator; faults are page faults per run (rusage).")
		p("")
		for i := 1; i < len(r.gen); i++ {
			a, b := r.gen[i-1], r.gen[i]
			x := float64(b.n) / float64(a.n)
			gl := ratio(b.l4m.median(), a.l4m.median())
			gf := ratio(b.fstab.median(), a.fstab.median())
			p("- N %d → %d (×%.0f): left4me-generator ×%.2f (log-log slope %.2f), systemd-fstab-generator ×%.2f (slope %.2f)",
				a.n, b.n, x, gl, math.Log(gl)/math.Log(x), gf, math.Log(gf)/math.Log(x))
		}
		p("")
	}
	if len(r.help) > 0 {
		p("### Start helper vs a bare overlayfs mount of the same layers")
		p("")
		p("Each measured start is a restart (the upper layer holds the previous start's cfgs), with the environment l4d2@.service gives the helpers (`LEFT4ME_PLAN_DIR` pointing at the start plan the generator writes, `GOMAXPROCS=1`). Every second overlay has an alias and a server.cfg, so a start stages server.cfg plus one copy per aliased overlay. The floor is `mount -t overlay -o nosuid,nodev,lowerdir=…,upperdir=…,workdir=…` of the same lower directories; mount(2) is the bare syscall from the launcher, no process at all. The overlay counts and the process floors below are interleaved run by run.")
		p("")
		p("| overlays | runs | left4me-prestart median | p95 | CPU | faults | mount(8) median | p95 | CPU | faults | Δ median | Δ p95 | mount(2) median | prestart peak RSS | mount(8) peak RSS |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, h := range r.help {
			p("| %d | %d | %s | %s | %s | %d | %s | %s | %s | %d | **%s** | %s | %s | %s | %s |", h.overlays, len(h.start.wall),
				ms(h.start.median()), ms(h.start.p95()), ms(h.start.cpuMedian()), h.start.faultsMedian(),
				ms(h.mount8.median()), ms(h.mount8.p95()), ms(h.mount8.cpuMedian()), h.mount8.faultsMedian(),
				ms(h.start.median()-h.mount8.median()), ms(h.start.p95()-h.mount8.p95()), ms(h.mount2.median()),
				mib(h.start.maxRSS), mib(h.mount8.maxRSS))
		}
		p("")
		p("### Stop helper vs a bare umount")
		p("")
		p("| overlays | runs | left4me-poststop median | p95 | CPU | faults | umount(8) median | p95 | CPU | faults | Δ median | Δ p95 | umount2(2) median | poststop peak RSS | umount(8) peak RSS |")
		p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
		for _, h := range r.help {
			p("| %d | %d | %s | %s | %s | %d | %s | %s | %s | %d | **%s** | %s | %s | %s | %s |", h.overlays, len(h.stop.wall),
				ms(h.stop.median()), ms(h.stop.p95()), ms(h.stop.cpuMedian()), h.stop.faultsMedian(),
				ms(h.umount8.median()), ms(h.umount8.p95()), ms(h.umount8.cpuMedian()), h.umount8.faultsMedian(),
				ms(h.stop.median()-h.umount8.median()), ms(h.stop.p95()-h.umount8.p95()), ms(h.umount2.median()),
				mib(h.stop.maxRSS), mib(h.umount8.maxRSS))
		}
		p("")
	}
	p("### Process floors (interleaved with the helper runs)")
	p("")
	p("| program | runs | median | p95 | CPU | faults | peak RSS |")
	p("|---|---:|---:|---:|---:|---:|---:|")
	p("| /bin/true (dynamic C) | %d | %s | %s | %s | %d | %s |", len(r.binTrue.wall), ms(r.binTrue.median()), ms(r.binTrue.p95()), ms(r.binTrue.cpuMedian()), r.binTrue.faultsMedian(), mib(r.binTrue.maxRSS))
	p("| static Go binary with an empty main (tests/bench/noop) | %d | %s | %s | %s | %d | %s |", len(r.goNoop.wall), ms(r.goNoop.median()), ms(r.goNoop.p95()), ms(r.goNoop.cpuMedian()), r.goNoop.faultsMedian(), mib(r.goNoop.maxRSS))
	p("")

	p("### Targets")
	p("")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**MISSED**"
	}
	// Issue 18: at the scale operators run, N=10 and 50.
	for _, g := range r.gen {
		rt := ratio(g.l4m.median(), g.fstab.median())
		p("- Generator at N=%d no slower than systemd-fstab-generator (ratio ≤ %.1f): ratio %.2f: %s", g.n, maxRatio, rt, verdict(rt <= maxRatio))
	}
	for _, h := range r.help {
		if h.overlays == 10 {
			d := h.start.median() - h.mount8.median()
			p("- Start helper, 10 overlays, within %s of the bare mount(8) floor: +%s (median; p95 +%s): %s", ms(maxStartOver), ms(d), ms(h.start.p95()-h.mount8.p95()), verdict(d <= maxStartOver))
			d = h.stop.median() - h.umount8.median()
			p("- Stop helper, 10 overlays, within %s of the bare umount(8) floor: +%s (median; p95 +%s): %s", ms(maxStartOver), ms(d), ms(h.stop.p95()-h.umount8.p95()), verdict(d <= maxStartOver))
		}
	}
	var worst int64
	var worstName string
	note := func(name string, kib int64) {
		if kib > worst {
			worst, worstName = kib, name
		}
	}
	for _, g := range r.gen {
		note(fmt.Sprintf("left4me-generator at N=%d", g.n), g.l4m.maxRSS)
	}
	for _, h := range r.help {
		note(fmt.Sprintf("left4me-prestart with %d overlays", h.overlays), h.start.maxRSS)
		note(fmt.Sprintf("left4me-poststop with %d overlays", h.overlays), h.stop.maxRSS)
	}
	p("- Every binary under 20 MiB peak RSS: largest is %s, %s: %s", worstName, mib(worst), verdict(worst < maxRSSKiB))
}
