package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The launcher is this binary re-executed as `bench launch`: a small,
// long-lived process that starts every measured program and times it, away
// from the driver's heap and garbage collector (the driver lays out up to
// 10000 specs between runs).
//
// Timed runs ("exec") measure wall time from just before the fork to just
// after the reap, and the child's user+system time. Peak memory is measured
// apart ("peak"), because ru_maxrss from wait4 is wrong for a child of a Go
// process: execve records the hiwater RSS of the address space it replaces
// into the child's ru_maxrss, and Go forks with CLONE_VM, so every child
// would report at least the launcher's own peak (the driver's, ~200 MiB for a
// 200 MiB parent, as tried). VmHWM at exit counts only the program's own
// address space.

// request is one thing for the launcher to do and time.
type request struct {
	Op     string   // "exec", "peak" (exec, untimed, for VmHWM), "mount" (mount(2)) or "umount" (umount2(2))
	Argv   []string // exec: the program and its arguments
	Env    []string // exec: the whole environment
	Stderr string   // exec: file that receives stderr (stdout goes to /dev/null)
	Source string   // mount
	Target string   // mount, umount
	FSType string   // mount
	Flags  uintptr  // mount
	Data   string   // mount
}

// result is how long it took, from just before the fork to just after the
// reap (or around the syscall), what the child used, or its peak RSS.
type result struct {
	WallNS   int64
	CPUNS    int64  // the child's user+system time (0 for the syscall ops)
	Faults   int64  // the child's page faults (minor+major)
	MaxRSSKB int64  // "peak" only: VmHWM at exit, KiB
	Err      string // non-empty when the program failed or could not start
}

func launcherMain() {
	debug.SetGCPercent(10) // a tiny heap: little GC work and few page faults beside the measured runs
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "launcher:", err)
		os.Exit(1)
	}
	in := bufio.NewReader(os.Stdin)
	dec := json.NewDecoder(in)
	enc := json.NewEncoder(os.Stdout)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if err != io.EOF {
				fmt.Fprintln(os.Stderr, "launcher:", err)
				os.Exit(1)
			}
			return
		}
		res := serve(&req, devnull)
		if err := enc.Encode(&res); err != nil {
			fmt.Fprintln(os.Stderr, "launcher:", err)
			os.Exit(1)
		}
	}
}

func serve(req *request, devnull *os.File) result {
	switch req.Op {
	case "mount":
		t0 := time.Now()
		err := unix.Mount(req.Source, req.Target, req.FSType, req.Flags, req.Data)
		res := result{WallNS: int64(time.Since(t0))}
		if err != nil {
			res.Err = fmt.Sprintf("mount(2) %s: %v", req.Target, err)
		}
		return res
	case "umount":
		t0 := time.Now()
		err := unix.Unmount(req.Target, 0)
		res := result{WallNS: int64(time.Since(t0))}
		if err != nil {
			res.Err = fmt.Sprintf("umount2(2) %s: %v", req.Target, err)
		}
		return res
	case "peak":
		return peak(req, devnull)
	case "exec":
	default:
		return result{Err: "unknown op " + req.Op}
	}
	errf, err := os.OpenFile(req.Stderr, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return result{Err: err.Error()}
	}
	defer errf.Close()
	attr := &os.ProcAttr{Env: req.Env, Files: []*os.File{devnull, devnull, errf}}
	t0 := time.Now()
	p, err := os.StartProcess(req.Argv[0], req.Argv, attr)
	if err != nil {
		return result{Err: err.Error()}
	}
	st, err := p.Wait()
	res := result{WallNS: int64(time.Since(t0))}
	if err != nil {
		res.Err = err.Error()
		return res
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		res.CPUNS = ru.Utime.Nano() + ru.Stime.Nano() // ru.Maxrss is not the child's own: see peak
		res.Faults = ru.Minflt + ru.Majflt
	}
	if !st.Success() {
		msg, _ := os.ReadFile(req.Stderr)
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		res.Err = fmt.Sprintf("%s: %v: %s", req.Argv[0], st, msg)
	}
	return res
}

// peak runs the program under ptrace, stopped at its exit (the
// PTRACE_EVENT_EXIT stop comes before the kernel releases its memory), and
// reads VmHWM from /proc/PID/status: the peak RSS of the program's own
// address space, with nothing inherited from the launcher. Too slow to
// time, so it runs apart from the timed runs.
func peak(req *request, devnull *os.File) result {
	runtime.LockOSThread() // every ptrace request must come from the tracer thread
	defer runtime.UnlockOSThread()
	errf, err := os.OpenFile(req.Stderr, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return result{Err: err.Error()}
	}
	defer errf.Close()
	pid, err := syscall.ForkExec(req.Argv[0], req.Argv, &syscall.ProcAttr{Env: req.Env,
		Files: []uintptr{devnull.Fd(), devnull.Fd(), errf.Fd()}, Sys: &syscall.SysProcAttr{Ptrace: true}})
	if err != nil {
		return result{Err: err.Error()}
	}
	var res result
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			if err == syscall.EINTR {
				continue
			}
			res.Err = err.Error()
			return res
		}
		if ws.Exited() || ws.Signaled() {
			if !ws.Exited() || ws.ExitStatus() != 0 {
				msg, _ := os.ReadFile(req.Stderr)
				res.Err = fmt.Sprintf("%s: %v: %s", req.Argv[0], ws, msg)
			}
			return res
		}
		if !ws.Stopped() {
			continue
		}
		sig := ws.StopSignal()
		switch {
		case sig == syscall.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_EXIT:
			res.MaxRSSKB = vmHWM(pid)
			sig = 0
		case sig == syscall.SIGTRAP && ws.TrapCause() == 0:
			// The stop after execve: ask for the exit stop.
			if err := syscall.PtraceSetOptions(pid, unix.PTRACE_O_TRACEEXIT|unix.PTRACE_O_EXITKILL); err != nil {
				res.Err = err.Error()
			}
			sig = 0
		}
		if err := syscall.PtraceCont(pid, int(sig)); err != nil && res.Err == "" {
			res.Err = err.Error()
		}
	}
}

func vmHWM(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// launcher is the driver's end of the pipe.
type launcher struct {
	cmd *exec.Cmd
	enc *json.Encoder
	dec *json.Decoder
	in  io.Closer
}

func startLauncher(self string) (*launcher, error) {
	cmd := exec.Command(self, "launch")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &launcher{cmd: cmd, enc: json.NewEncoder(stdin), dec: json.NewDecoder(bufio.NewReader(stdout)), in: stdin}, nil
}

func (l *launcher) do(req request) (result, error) {
	if err := l.enc.Encode(&req); err != nil {
		return result{}, fmt.Errorf("launcher: %w", err)
	}
	var res result
	if err := l.dec.Decode(&res); err != nil {
		return result{}, fmt.Errorf("launcher: %w", err)
	}
	if res.Err != "" {
		return res, fmt.Errorf("%s", res.Err)
	}
	return res, nil
}

func (l *launcher) close() {
	_ = l.in.Close()
	_ = l.cmd.Wait()
}
