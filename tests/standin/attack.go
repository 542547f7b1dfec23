package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
// read), "write PATH" (a file to create) and "list PATH" (a directory).
// Each attempt and its outcome go to GAME/standin-attack.json.

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
func attack(game string, logf func(string, ...any)) {
	f, err := os.Open(filepath.Join(game, attackFile))
	if err != nil {
		return
	}
	defer f.Close()
	var pids []int
	var reads, writes, lists []string
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
		}
	}
	var out []attempt
	try := func(what string, err error) {
		a := attempt{What: what, OK: err == nil}
		if err != nil {
			a.Err = err.Error()
		}
		out = append(out, a)
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
	data, _ := json.MarshalIndent(out, "", "  ") // plain structs always encode
	path := filepath.Join(game, "standin-attack.json")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		logf("attack: %v", err)
		return
	}
	worked := 0
	for _, a := range out {
		if a.OK {
			worked++
		}
	}
	logf("attack: %d of %d attempts worked, see %s", worked, len(out), path)
}
