package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on
// every Linux architecture Go supports).
const clockTicks = 100

func med[T int64 | time.Duration](ds []T) T {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// totals and phase medians over the boots of one count.
func totals(bs []boot) time.Duration {
	var t []time.Duration
	for _, b := range bs {
		t = append(t, b.total)
	}
	return med(t)
}

func phase(bs []boot, get func(boot) []int64) time.Duration {
	var all []int64
	for _, b := range bs {
		all = append(all, get(b)...)
	}
	return time.Duration(med(all)) * time.Microsecond
}

func report(w io.Writer, o options, times map[string]map[int][]boot, ov ovResult, took time.Duration, load0, load1 string) {
	fmt.Fprintf(w, "\n### Boot at scale: `systemctl start l4d2.target` until every instance answers A2S\n\n")
	fmt.Fprintf(w, "In a systemd container (tests/container). The floor is as many `Type=simple` units running the same stand-in straight from the installation: no helpers, no overlay, no relay, no sandbox; the sandboxed floor is the same with every directive of l4d2@.service's sandbox section, so the difference between the three arms splits our cost into the sandbox's and the helpers'. Timed from just before `systemctl start --no-block TARGET` (through nsenter) to the last first A2S_INFO answer, asked of every port every 20 ms from inside the container's network. Arms alternate; medians of %d boots. Took %v; load average %s before, %s after.\n\n",
		o.rounds, took.Round(time.Second), load0, load1)
	fmt.Fprintln(w, "| instances | left4me (l4d2.target) | floor (floor.target) | **ratio** | floor in l4d2@'s sandbox (sandbox.target) | ratio to the floor |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|")
	for _, n := range o.counts {
		a, b, c := totals(times["l4d2.target"][n]), totals(times["floor.target"][n]), totals(times["sandbox.target"][n])
		fmt.Fprintf(w, "| %d | %v | %v | **%.2f** | %v | %.2f |\n", n, a.Round(time.Millisecond), b.Round(time.Millisecond),
			float64(a)/float64(b), c.Round(time.Millisecond), float64(c)/float64(b))
	}
	fmt.Fprintln(w, "\nCPU time the whole container used per instance started (its cgroup, start command to the last first answer; on 2 CPUs this, not any one start's latency, bounds a boot at scale):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| instances | left4me | floor | sandboxed floor | left4me / sandboxed floor |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
	for _, n := range o.counts {
		per := func(arm string) time.Duration { return cpuPer(times, arm, n) }
		a, f, s := per("l4d2.target"), per("floor.target"), per("sandbox.target")
		if a < 0 || f < 0 || s < 0 {
			continue
		}
		fmt.Fprintf(w, "| %d | %v | %v | %v | %.2f |\n", n, a.Round(100*time.Microsecond), f.Round(100*time.Microsecond), s.Round(100*time.Microsecond), float64(a)/float64(s))
	}
	mountsReport(w, o, times)
	fmt.Fprintln(w, "\nWhere an instance's time goes (medians over every instance of every boot; systemd's InactiveExit and ExecMainStart timestamps against the first A2S answer, all CLOCK_MONOTONIC):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| instances | arm | start command → unit begins | unit begins → main process forked (ExecStartPre=) | main process → first A2S answer |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|")
	for _, n := range o.counts {
		for _, arm := range []string{"l4d2.target", "sandbox.target", "sandbox.target" + mountsSuffix, "floor.target"} {
			bs := times[arm][n]
			if len(bs) == 0 {
				continue
			}
			r := func(get func(boot) []int64) time.Duration { return phase(bs, get).Round(100 * time.Microsecond) }
			fmt.Fprintf(w, "| %d | %s | %v | %v | %v |\n", n, arm, r(func(b boot) []int64 { return b.queued }),
				r(func(b boot) []int64 { return b.pre }), r(func(b boot) []int64 { return b.toReply }))
		}
	}

	fmt.Fprintf(w, "\n### What left4me keeps beside each running server (%d instances, watched %v)\n\n", ov.instances, ov.idle)
	fmt.Fprintln(w, "Every process in an instance's cgroup except the server (srcds_linux), read from the host's /proc: VmRSS and PSS at the end, utime+stime over the watch.")
	fmt.Fprintln(w)
	byComm := map[string][]proc{}
	perUnit := map[string]struct{ rss, pss, ticks int64 }{}
	for _, p := range ov.procs {
		byComm[p.comm] = append(byComm[p.comm], p)
		u := perUnit[p.unit]
		u.rss += p.rss
		u.pss += p.pss
		u.ticks += p.ticks1 - p.ticks0
		perUnit[p.unit] = u
	}
	cpu := func(ticks int64) float64 { return 100 * float64(ticks) / clockTicks / ov.idle.Seconds() }
	fmt.Fprintln(w, "| process | count | RSS median | RSS max | PSS median | CPU per process (% of a core) |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	comms := make([]string, 0, len(byComm))
	for c := range byComm {
		comms = append(comms, c)
	}
	sort.Strings(comms)
	for _, c := range comms {
		ps := byComm[c]
		var rss, pss []int64
		var t int64
		for _, p := range ps {
			rss = append(rss, p.rss)
			pss = append(pss, p.pss)
			t += p.ticks1 - p.ticks0
		}
		slices.Sort(rss)
		slices.Sort(pss)
		fmt.Fprintf(w, "| %s | %d | %.1f MiB | %.1f MiB | %.1f MiB | %.4f %% |\n", c, len(ps), float64(rss[len(rss)/2])/1024,
			float64(rss[len(rss)-1])/1024, float64(pss[len(pss)/2])/1024, cpu(t)/float64(len(ps)))
	}
	var maxRSS, maxPSS, sumTicks int64
	for _, u := range perUnit {
		maxRSS, maxPSS = max(maxRSS, u.rss), max(maxPSS, u.pss)
		sumTicks += u.ticks
	}
	avgCPU := cpu(sumTicks) / float64(max(1, len(perUnit)))
	fmt.Fprintf(w, "\nPer instance (%d instances with processes of ours): RSS at most **%.1f MiB** (PSS at most %.1f MiB), CPU **%.4f %%** of a core on average (%d ticks of %d ms in all over %v).\n",
		len(perUnit), float64(maxRSS)/1024, float64(maxPSS)/1024, avgCPU, sumTicks, 1000/clockTicks, ov.idle)
	fmt.Fprintf(w, "\nTargets:\n\n")
	for _, n := range o.counts {
		rt := float64(totals(times["l4d2.target"][n])) / float64(totals(times["floor.target"][n]))
		fmt.Fprintf(w, "- Boot of %d instances ≤ 1.5× the floor: %.2f×: %s\n", n, rt, verdict(rt <= 1.5))
	}
	fmt.Fprintf(w, "- What stays beside each server ≤ 5 MiB RSS: %.1f MiB: %s\n", float64(maxRSS)/1024, verdict(maxRSS <= 5<<10))
	fmt.Fprintf(w, "- ... and ≤ 0.1 %% of a core: %.4f %%: %s\n", avgCPU, verdict(avgCPU <= 0.1))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**MISSED**"
}

// cpuPer is the median CPU time per instance started of arm's boots of n,
// -1 when unknown.
func cpuPer(times map[string]map[int][]boot, arm string, n int) time.Duration {
	var c []time.Duration
	for _, b := range times[arm][n] {
		if b.cpu < 0 {
			return -1
		}
		c = append(c, b.cpu)
	}
	if len(c) == 0 {
		return -1
	}
	return med(c) / time.Duration(n)
}

// mountsReport sets left4me beside the sandboxed floor booted on a host
// that already has one overlay mounted per instance: what the host's mount
// table costs every sandboxed start, whoever's unit it is.
func mountsReport(w io.Writer, o options, times map[string]map[int][]boot) {
	arm := "sandbox.target" + mountsSuffix
	if len(times[arm]) == 0 {
		return
	}
	fmt.Fprintln(w, "\nThe sandboxed floor again, booted while the container's mount table (PID 1's, which every sandboxed unit's namespace starts as a copy of) holds one more overlay per instance, as a host running that many left4me servers does (`-mounts`). left4me's own boot goes from none to N mounted; this arm has all N from the start.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| instances | sandboxed floor | beside N overlays | CPU per start: sandboxed floor | beside N overlays | left4me | left4me / sandboxed floor beside N overlays (boot, CPU) |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---:|---:|---:|")
	for _, n := range o.counts {
		s, m, a := totals(times["sandbox.target"][n]), totals(times[arm][n]), totals(times["l4d2.target"][n])
		cs, cm, ca := cpuPer(times, "sandbox.target", n), cpuPer(times, arm, n), cpuPer(times, "l4d2.target", n)
		ratio := "-"
		if cm > 0 && ca > 0 {
			ratio = fmt.Sprintf("%.2f", float64(ca)/float64(cm))
		}
		fmt.Fprintf(w, "| %d | %v | %v | %v | %v | %v | %.2f, %s |\n", n, s.Round(time.Millisecond), m.Round(time.Millisecond),
			cs.Round(100*time.Microsecond), cm.Round(100*time.Microsecond), ca.Round(100*time.Microsecond), float64(a)/float64(m), ratio)
	}
}
