package probe

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// Engine tells whether a game server's engine is running its frame loop,
// from /proc: the engine runs that loop on the process's main thread
// (RunServer in dedicated/sys_ded.cpp, Source 2013 and CS:GO alike). A
// dedicated server sleeps between frames until its next tick
// (CEngine::Frame, engine/sys_engine.cpp), even when hibernating (it
// sleeps sv_hibernate_ms per frame), so a live frame loop both runs and
// gives the CPU up of its own accord. A thread stuck on a lock or stopped
// (SIGSTOP, state T) gets no CPU time at all; one spinning in a busy loop
// gets all of it and never sleeps (operators' reports of hung srcds at
// 100 % CPU, silent: LinuxGSM#624, ValveSoftware/halflife#1200). A map
// load may run without a pause for a while, but it reads the map's files
// on that thread. The thread's own I/O counters are read, not the
// process's: the Steam library's thread talks to Steam all the time.
type Engine struct {
	Proc string // "/proc"
	PID  int

	seen                 bool
	cpu, switches, bytes uint64
}

// Activity is what the engine did since the last sample.
type Activity struct {
	Ran     bool // its main thread got CPU time
	Slept   bool // its main thread gave the CPU up (voluntary_ctxt_switches)
	IO      bool // its main thread read or wrote (rchar, wchar of its io)
	Stopped bool // the process is stopped (SIGSTOP, a tracer)
}

// Frames reports a running frame loop: it ran and slept.
func (a Activity) Frames() bool { return a.Ran && a.Slept && !a.Stopped }

// Sample reports what the engine did since the last call; the first call
// only takes a sample. The I/O counters need the same user as the engine
// (ptrace read access): without them IO stays false.
func (e *Engine) Sample() (Activity, error) {
	var a Activity
	dir := fmt.Sprintf("%s/%d", e.Proc, e.PID)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return a, err
	}
	// "PID (COMM) S ...": COMM may hold anything, so the state follows
	// the last ')'.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		s := stat[i+2]
		a.Stopped = s == 'T' || s == 't'
	}
	task := fmt.Sprintf("%s/task/%d", dir, e.PID)
	sched, err := os.ReadFile(task + "/schedstat")
	if err != nil {
		return a, err
	}
	f := bytes.Fields(sched)
	if len(f) == 0 {
		return a, fmt.Errorf("%s/schedstat: empty", task)
	}
	cpu, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return a, fmt.Errorf("%s/schedstat: %w", task, err)
	}
	status, err := os.ReadFile(task + "/status")
	if err != nil {
		return a, err
	}
	switches, ok := field(status, "voluntary_ctxt_switches:")
	if !ok {
		return a, fmt.Errorf("%s/status: no voluntary_ctxt_switches", task)
	}
	var io uint64
	if data, err := os.ReadFile(task + "/io"); err == nil {
		r, _ := field(data, "rchar:")
		w, _ := field(data, "wchar:")
		io = r + w
	}
	if e.seen {
		a.Ran = cpu > e.cpu && !a.Stopped
		a.Slept = switches > e.switches
		a.IO = io > e.bytes
	}
	e.seen, e.cpu, e.switches, e.bytes = true, cpu, switches, io
	return a, nil
}

// field is the number after the line starting with key in a /proc file.
func field(data []byte, key string) (uint64, bool) {
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(key)); ok {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
