package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// series is the samples of one program in one configuration.
type series struct {
	wall   []time.Duration
	cpu    []time.Duration // user+system time of the process
	faults []time.Duration // page faults, a count kept as a Duration to share quantile
	maxRSS int64           // KiB, VmHWM, the largest of the peak runs
}

func (s *series) add(r result) {
	s.wall = append(s.wall, time.Duration(r.WallNS))
	s.cpu = append(s.cpu, time.Duration(r.CPUNS))
	s.faults = append(s.faults, time.Duration(r.Faults))
}

// addPeak records a "peak" run, which is not timed.
func (s *series) addPeak(r result) { s.maxRSS = max(s.maxRSS, r.MaxRSSKB) }

func (s *series) median() time.Duration    { return quantile(s.wall, 0.5) }
func (s *series) p95() time.Duration       { return quantile(s.wall, 0.95) }
func (s *series) cpuMedian() time.Duration { return quantile(s.cpu, 0.5) }
func (s *series) faultsMedian() int64      { return int64(quantile(s.faults, 0.5)) }

// quantile: the median interpolates between the middle two samples; other
// quantiles use the nearest rank, so a p95 is always a time that was seen.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if q == 0.5 {
		m := len(s) / 2
		if len(s)%2 == 0 {
			return (s[m-1] + s[m]) / 2
		}
		return s[m]
	}
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// ms formats a duration in milliseconds with enough digits for a table.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
