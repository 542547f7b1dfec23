package main

import (
	"fmt"
	"io"
	"time"
)

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// report prints the Markdown section of docs/PERFORMANCE.md.
func report(w io.Writer, o options, arms []arm, res map[string]map[int]sample, inst usage, took time.Duration, load0, load1 string) {
	ours, copies := res[arms[0].name], res[arms[1].name]
	fmt.Fprintf(w, "\n### Memory density: N servers on one installation against a copy each\n\n")
	fmt.Fprintf(w, "Installation: 16 shared objects, %d MiB in all, mapped and touched page by page by every server, and a %d MiB VPK plus a 1 MiB VPK directory read whole by every server (tests/standin/gamefiles.go); %.1f MiB in all. XFS on a loop image with direct I/O; copies are reflink copies (own page cache, shared blocks). The page cache is dropped before each measurement; arms alternate; medians of %d rounds. Host memory: the fall of MemFree; page cache: the rise of Cached (/proc/meminfo); PSS: smaps_rollup summed over the servers. Took %v; load average %s before, %s after.\n\n",
		o.libMB, o.vpkMB, float64(inst.apparent)/(1<<20), o.rounds, took.Round(time.Second), load0, load1)
	fmt.Fprintln(w, "| servers | left4me: host memory | page cache | servers' PSS | a copy each: host memory | page cache | servers' PSS | all listening (left4me / copies) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range o.counts {
		a, b := ours[n], copies[n]
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s | %v / %v |\n", n, mib(a.used), mib(a.cache), mib(a.pss),
			mib(b.used), mib(b.cache), mib(b.pss), a.elapsed.Round(time.Millisecond), b.elapsed.Round(time.Millisecond))
	}
	one := copies[1].cache // one copy's game files in memory
	fmt.Fprintf(w, "\nPer extra server, from 1 to N servers (one copy's page cache: %s):\n\n", mib(one))
	fmt.Fprintln(w, "| N | left4me: host memory per extra server | page cache per extra server | **÷ one copy's page cache** | a copy each: host memory per extra server | page cache per extra server |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	for _, n := range o.counts[1:] {
		per := func(s map[int]sample, f func(sample) int64) int64 { return (f(s[n]) - f(s[1])) / int64(n-1) }
		used := func(s sample) int64 { return s.used }
		cache := func(s sample) int64 { return s.cache }
		fmt.Fprintf(w, "| %d | %s | %s | **%.2f %%** | %s | %s |\n", n, mib(per(ours, used)), mib(per(ours, cache)),
			100*float64(per(ours, cache))/float64(one), mib(per(copies, used)), mib(per(copies, cache)))
	}
	n := o.counts[len(o.counts)-1]
	perExtra := float64(ours[n].cache-ours[1].cache) / float64(n-1)
	if n == 1 {
		perExtra = 0
	}
	fmt.Fprintf(w, "\n### Disk per extra server\n\n")
	fmt.Fprintln(w, "| | allocated (st_blocks) | file sizes |")
	fmt.Fprintln(w, "|---|---:|---:|")
	fmt.Fprintf(w, "| left4me: runtime/NAME of a running server after its first start (largest of %d) | **%.1f KiB** | %.1f KiB |\n", n, float64(ours[n].disk.allocated)/1024, float64(ours[n].disk.apparent)/1024)
	fmt.Fprintf(w, "| a full copy of the installation | %.1f MiB | %.1f MiB |\n", float64(inst.allocated)/(1<<20), float64(inst.apparent)/(1<<20))
	fmt.Fprintf(w, "\nTargets:\n\n")
	fmt.Fprintf(w, "- Memory for game files per extra server ≤ 2 %% of one copy's (N=1 to %d): %.2f %%: %s\n", n, 100*perExtra/float64(one), verdict(perExtra <= 0.02*float64(one)))
	fmt.Fprintf(w, "- Disk per extra server ≤ 1 MiB: %.1f KiB: %s\n", float64(ours[n].disk.allocated)/1024, verdict(ours[n].disk.allocated <= 1<<20))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**MISSED**"
}
