// Command scale measures boot at scale and what left4me keeps beside each
// running server, in a real systemd (tests/container): the time from
// `systemctl start l4d2.target` to every instance answering A2S, against a
// floor of as many minimal Type=simple units that run the same stand-in
// with no helpers, overlay or probe; and, with 30 instances up, the
// resident memory and CPU time of every process of ours in each
// instance's cgroup (the console relay and the A2S watcher).
//
// Usage (as root, from tests/bench/run.sh): scale -scratch DIR [flags]
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

type options struct {
	scratch, repo string
	lower         string
	counts        []int
	rounds        int
	idle          time.Duration
	trace         bool
	breakdown     int
	// breakdownMounts: overlays mounted on the host during the breakdown.
	breakdownMounts int
	hold            bool
	mounts          bool
}

func main() {
	var o options
	flag.StringVar(&o.scratch, "scratch", "", "empty directory on a real filesystem (tmpfs) for the container's state (required)")
	flag.StringVar(&o.repo, "repo", ".", "the source tree: make install DESTDIR= runs there")
	flag.StringVar(&o.lower, "lower", "/", "the container root's lower layer: another distribution's tree (e.g. debootstrapped) boots its systemd instead of the host's")
	flag.IntVar(&o.rounds, "rounds", 3, "boots of each count and arm (medians are reported)")
	flag.DurationVar(&o.idle, "idle", time.Minute, "how long the overhead of the running instances is watched")
	flag.BoolVar(&o.trace, "trace", false, "print the journal of the first instance and floor unit")
	flag.IntVar(&o.breakdown, "breakdown", 0, "also time one start without each sandbox directive, this many times each (0: skip)")
	flag.IntVar(&o.breakdownMounts, "breakdown-mounts", 0, "mount this many overlays on the container's host table during -breakdown (which directives grow with the host's mounts)")
	flag.BoolVar(&o.hold, "hold", false, "boot the container with every instance's spec (none started) and wait for stdin to close, for profiling by hand (nsenter -t PID1 -a)")
	flag.BoolVar(&o.mounts, "mounts", true, "also boot the sandboxed floor beside one mounted overlay per instance (what the host's mount table costs every sandboxed start)")
	ns := flag.String("n", "1,10,30", "instance counts (1: what one start alone costs); the overhead is measured at the largest")
	flag.Parse()
	for f := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 500 {
			fail(fmt.Errorf("-n: bad count %q", f))
		}
		o.counts = append(o.counts, n)
	}
	if o.scratch == "" {
		fail(fmt.Errorf("-scratch is required"))
	}
	if err := run(o); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}
