package probe

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Engine tells whether a game server's engine is running its frame loop,
// from /proc: the engine runs that loop on the process's main thread
// (RunServer in dedicated/sys_ded.cpp, Source 2013 and CS:GO alike), which
// wakes every frame even when hibernating (it sleeps sv_hibernate_ms per
// frame) and works through a map load. A thread stuck on a lock or
// stopped (SIGSTOP, state T) gets no CPU time at all.
type Engine struct {
	Proc string // "/proc"
	PID  int
	last uint64
	seen bool
}

// Progress reports whether the main thread ran since the last call, and
// whether the process is stopped. The first call only takes a sample.
func (e *Engine) Progress() (ran, stopped bool, err error) {
	dir := fmt.Sprintf("%s/%d", e.Proc, e.PID)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return false, false, err
	}
	// "PID (COMM) S ...": COMM may hold anything, so the state follows
	// the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		s := stat[i+2]
		stopped = s == 'T' || s == 't'
	}
	sched, err := os.ReadFile(fmt.Sprintf("%s/task/%d/schedstat", dir, e.PID))
	if err != nil {
		return false, stopped, err
	}
	f := bytes.Fields(sched)
	if len(f) == 0 {
		return false, stopped, fmt.Errorf("%s/task/%d/schedstat: empty", dir, e.PID)
	}
	ns, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return false, stopped, fmt.Errorf("%s/task/%d/schedstat: %w", dir, e.PID, err)
	}
	ran = e.seen && ns > e.last
	e.last, e.seen = ns, true
	return ran && !stopped, stopped, nil
}
