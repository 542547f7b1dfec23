package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// proc is one of our processes beside a server.
type proc struct {
	pid      int
	unit     string // l4d2@NAME.service
	comm     string
	ticks0   int64 // utime+stime at the start of the watch
	ticks1   int64
	rss, pss int64 // KiB, at the end
}

// ovResult is what the instances' own processes cost.
type ovResult struct {
	instances int
	idle      time.Duration
	procs     []proc
	servers   int // srcds_linux processes seen, which are not counted
}

// unitOf is the l4d2@NAME.service in a /proc/PID/cgroup text, or "".
func unitOf(cgroup string) string {
	i := strings.Index(cgroup, "/l4d2@")
	if i < 0 {
		return ""
	}
	u := cgroup[i+1:]
	if j := strings.IndexAny(u, "/\n"); j >= 0 {
		u = u[:j]
	}
	if !strings.HasSuffix(u, ".service") {
		return ""
	}
	return u
}

// ours lists the processes in the instances' cgroups of the container
// whose PID 1 is pid1, from the host's /proc: everything but the server
// itself. The container's PID namespace tells its processes from those of
// other containers on the host.
func ours(pid1 int) (procs []proc, servers int, err error) {
	var want, st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid1)+"/ns/pid", &want); err != nil {
		return nil, 0, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if unix.Stat("/proc/"+e.Name()+"/ns/pid", &st) != nil || st.Ino != want.Ino || st.Dev != want.Dev {
			continue
		}
		cg, err := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		if err != nil {
			continue
		}
		unit := unitOf(string(cg))
		if unit == "" {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		c := strings.TrimSpace(string(comm))
		if c == "srcds_linux" {
			servers++
			continue
		}
		procs = append(procs, proc{pid: pid, unit: unit, comm: c})
	}
	return procs, servers, nil
}

// ticks is utime+stime of pid in clock ticks (proc(5): fields 14 and 15).
func ticks(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "(comm) "
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st, nil
}

func field(path, name string) int64 {
	b, _ := os.ReadFile(path)
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name+":" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

// overhead watches our processes beside n running servers for idle.
func overhead(pid1, n int, idle time.Duration) (ovResult, error) {
	r := ovResult{instances: n, idle: idle}
	time.Sleep(5 * time.Second) // past the start probes, which exit
	procs, servers, err := ours(pid1)
	if err != nil {
		return r, err
	}
	r.servers = servers
	if servers != n {
		return r, fmt.Errorf("%d servers running in instance cgroups, want %d", servers, n)
	}
	for i := range procs {
		if procs[i].ticks0, err = ticks(procs[i].pid); err != nil {
			return r, fmt.Errorf("%s (%s): %w", procs[i].comm, procs[i].unit, err)
		}
	}
	time.Sleep(idle)
	for i := range procs {
		p := &procs[i]
		if p.ticks1, err = ticks(p.pid); err != nil {
			return r, fmt.Errorf("%s (%s) ended during the watch: %w", p.comm, p.unit, err)
		}
		p.rss = field("/proc/"+strconv.Itoa(p.pid)+"/status", "VmRSS")
		p.pss = field("/proc/"+strconv.Itoa(p.pid)+"/smaps_rollup", "Pss")
	}
	sort.Slice(procs, func(i, j int) bool { return procs[i].unit < procs[j].unit })
	r.procs = procs
	return r, nil
}
