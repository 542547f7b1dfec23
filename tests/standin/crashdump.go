package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// dumperEnv starts the stand-in as the dumper of a crashed stand-in.
const dumperEnv = "STANDIN_DUMPER_FOR"

// dumpDir is where the engine's breakpad writes minidumps (srcds_run's
// default; l4d2@.service binds runtime/NAME/dumps there).
const dumpDir = "/tmp/dumps"

// crashWithDump crashes the way a breakpad-enabled engine does: the
// crashed process starts a child, allows it to trace it (Yama's
// ptrace_scope 1 needs PR_SET_PTRACER, as breakpad's
// ExceptionHandler::GenerateDump does) and waits; the child attaches with
// ptrace and reads the crashed process's memory
// (client/linux/minidump_writer/linux_ptrace_dumper.h: PTRACE_ATTACH to
// every thread, /proc/PID/maps, PTRACE_PEEKDATA), writes the minidump and
// detaches. Then the process dies of SIGSEGV. What the dumper could not do
// it prints, as breakpad logs to stderr.
func crashWithDump(game string, logf func(string, ...any)) int {
	self, err := os.Executable()
	if err != nil {
		logf("dump: %v", err)
		return 139
	}
	r, w, err := os.Pipe()
	if err != nil {
		logf("dump: %v", err)
		return 139
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), dumperEnv+"="+strconv.Itoa(os.Getpid()))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, os.Stdout, os.Stdout
	if err := cmd.Start(); err != nil {
		logf("dump: start the dumper: %v", err)
		return 139
	}
	r.Close()
	_ = unix.Prctl(unix.PR_SET_PTRACER, uintptr(cmd.Process.Pid), 0, 0, 0)
	w.Close() // go ahead
	_ = cmd.Wait()
	_ = game
	// Die of the crash's signal, with its default action.
	_ = unix.Kill(os.Getpid(), syscall.SIGSEGV)
	select {}
}

// dumper is the child: attach, read, write the dump, detach.
func dumper(pidText string) int {
	var b [1]byte
	_, _ = os.Stdin.Read(b[:]) // until the parent allowed us
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		return 2
	}
	fail := func(what string, err error) int {
		fmt.Printf("ExceptionHandler::GenerateDump %s of %d failed: %v\n", what, pid, err)
		return 1
	}
	if err := unix.PtraceAttach(pid); err != nil {
		return fail("sys_ptrace(PTRACE_ATTACH)", err)
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return fail("waitpid", err)
	}
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		_ = unix.PtraceDetach(pid)
		return fail("read maps", err)
	}
	word := make([]byte, 8)
	_, perr := unix.PtracePeekData(pid, uintptr(mapsStart(maps)), word)
	_ = unix.PtraceDetach(pid)
	if perr != nil {
		return fail("sys_ptrace(PTRACE_PEEKDATA)", perr)
	}
	id := make([]byte, 16)
	rand.Read(id)
	name := filepath.Join(dumpDir, hex.EncodeToString(id)+".dmp")
	dump := append([]byte("MDMP standin\n"), maps...)
	if err := os.WriteFile(name, dump, 0o600); err != nil {
		return fail("write the minidump", err)
	}
	fmt.Printf("Wrote minidump to %s\n", name)
	return 0
}

// mapsStart is the first mapping's start address in /proc/PID/maps.
func mapsStart(maps []byte) uint64 {
	var start uint64
	for _, c := range maps {
		v := uint64(0)
		switch {
		case c >= '0' && c <= '9':
			v = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			v = uint64(c-'a') + 10
		default:
			return start
		}
		start = start<<4 | v
	}
	return start
}
