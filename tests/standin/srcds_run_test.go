package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of srcds_run run this package's script with the test binary
// as srcds_linux. As root the script counts down ten seconds first, like
// the real one; so that only TestSrcdsRunAsRoot waits for that, the others
// give the script an id(1) that says uid 1000.

// installation lays out a fake game installation in a new directory:
// srcds_run, srcds_linux, bin/libtier0_srv.so and left4dead2/cfg with the
// given files.
func installation(t *testing.T, cfgs map[string]string) string {
	t.Helper()
	dir := writeCfgs(t, cfgs)
	script, err := os.ReadFile("srcds_run")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "srcds_run"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(testBinary(t), filepath.Join(dir, "srcds_linux")); err != nil {
		t.Fatal(err)
	}
	installLib(t, dir)
	return dir
}

// startScript runs dir/srcds_run from another directory, with an id(1)
// that says the user is not root.
func startScript(t *testing.T, dir string, env []string, args ...string) *standin {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "id"), []byte("#!/bin/sh\necho 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return startScriptAsIs(t, dir, append([]string{"PATH=" + bin + ":" + os.Getenv("PATH")}, env...), args...)
}

// startScriptAsIs runs dir/srcds_run from another directory.
func startScriptAsIs(t *testing.T, dir string, env []string, args ...string) *standin {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "srcds_run"), args...)
	cmd.Dir = "/"
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1", "STANDIN_STDIO=line", "STANDIN_SIGNALS=clean"), env...)
	return start(t, cmd)
}

// engineArgv waits for the engine's argv line and decodes it.
func (s *standin) engineArgv(t *testing.T) []string {
	t.Helper()
	line := s.waitLine(t, "standin: argv: ")
	var argv []string
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "standin: argv: ")), &argv); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	return argv
}

func (s *standin) sawLine(line string) bool {
	for _, l := range s.seen {
		if l == line {
			return true
		}
	}
	return false
}

func signaledBy(s *standin, sig syscall.Signal) bool {
	ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// srcds_run hands its arguments on split at blanks and globbed, adds the
// default map, and execs the engine in the game root; the engine then
// reads only the first word of a split value.
func TestSrcdsRunSplitsArguments(t *testing.T) {
	t.Parallel()
	dir := installation(t, nil)
	port := strconv.Itoa(int(freeUDPPort(t)))
	s := startScript(t, dir, nil, "-game", "left4dead2", "-norestart", "-port", port,
		"+hostname", "Tom's server", "+sv_tags", "left4dead*")
	want := []string{"./srcds_linux", "-game", "left4dead2", "-norestart", "-port", port,
		"+hostname", "Tom's", "server", "+sv_tags", "left4dead2", "+map", "c1m1_hotel"}
	if got := s.engineArgv(t); !reflect.DeepEqual(got, want) {
		t.Errorf("engine argv %q\nwant %q", got, want)
	}
	if !s.sawLine("WARNING: No map specified! Defaulting to c1m1_hotel") {
		t.Errorf("no default map warning in %q", s.seen)
	}
	s.waitLine(t, "standin: uid=")
	if cwd := s.seen[len(s.seen)-1]; !strings.HasSuffix(cwd, " cwd="+dir) {
		t.Errorf("engine not in the game root: %q", cwd)
	}
	s.waitLine(t, "standin: listening on udp ")
	info, err := queryInfo(t, "127.0.0.1:"+port, 2*time.Second)
	if err != nil || info.Name != "Tom's" || info.Map != "c1m1_hotel" {
		t.Errorf("A2S_INFO %+v, %v", info, err)
	}
	// exec: the script's process is the engine's, and SIGINT reaches it.
	if rep := readReport(t, dir); rep.PID != s.cmd.Process.Pid {
		t.Errorf("engine pid %d, script pid %d", rep.PID, s.cmd.Process.Pid)
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 || s.seen[len(s.seen)-1] != "standin: quitting on SIGINT" {
		t.Errorf("exit status %d, last line %q", code, s.seen[len(s.seen)-1])
	}
	if s.sawLine("Running the dedicated server as root  ") {
		t.Error("root warning with id -u saying 1000")
	}
}

// As root, srcds_run warns and counts down ten seconds before it starts
// the engine.
func TestSrcdsRunAsRoot(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	t.Parallel()
	dir := installation(t, nil)
	begin := time.Now()
	s := startScriptAsIs(t, dir, nil, "-game", "left4dead2", "-norestart", "-nodefaultmap")
	s.waitLine(t, "standin: argv: ")
	if took := time.Since(begin); took < 9*time.Second {
		t.Errorf("engine started after %v", took)
	}
	var countdown []string
	for _, l := range s.seen {
		if strings.HasPrefix(l, "The server will continue to launch in ") {
			countdown = append(countdown, strings.TrimPrefix(l, "The server will continue to launch in "))
		}
	}
	want := []string{"10 seconds", "9 seconds", "8 seconds", "7 seconds", "6 seconds", "5 seconds",
		"4 seconds", "3 seconds", "2 seconds", "1 seconds"}
	if !s.sawLine("Running the dedicated server as root  ") || !reflect.DeepEqual(countdown, want) {
		t.Errorf("output %q", s.seen)
	}
}

func TestSrcdsRunDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    []string // engine argv after ./srcds_linux -norestart
		warning bool
	}{
		{"no -game", []string{"+map", "c2m1_highway"}, []string{"+map", "c2m1_highway", "-game", "left4dead2"}, false},
		{"-nodefaultmap", []string{"-game", "left4dead2", "-nodefaultmap"}, []string{"-game", "left4dead2", "-nodefaultmap"}, false},
		{"neither", nil, []string{"-game", "left4dead2", "+map", "c1m1_hotel"}, true},
		// The value of a value-taking option is no option of srcds_run.
		{"-pidfile eats +map", []string{"-pidfile", "+map", "x"},
			[]string{"-pidfile", "+map", "x", "-game", "left4dead2", "+map", "c1m1_hotel"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := installation(t, nil)
			s := startScript(t, dir, nil, append([]string{"-norestart"}, tc.args...)...)
			want := append([]string{"./srcds_linux", "-norestart"}, tc.want...)
			if got := s.engineArgv(t); !reflect.DeepEqual(got, want) {
				t.Errorf("engine argv %q\nwant %q", got, want)
			}
			if w := s.sawLine("WARNING: No map specified! Defaulting to c1m1_hotel"); w != tc.warning {
				t.Errorf("default map warning %v, want %v", w, tc.warning)
			}
		})
	}
}

// A game directory that is not there: srcds_run fails and ends itself
// with SIGINT, as the real quit() does.
func TestSrcdsRunInvalidGame(t *testing.T) {
	t.Parallel()
	dir := installation(t, nil)
	s := startScript(t, dir, nil, "-game", "nothere", "-norestart")
	s.wait(t)
	if !signaledBy(s, syscall.SIGINT) || !s.sawLine("ERROR: Invalid game type 'nothere' sepecified.") ||
		!strings.HasSuffix(s.seen[len(s.seen)-1], ": Server Failed") {
		t.Errorf("state %v, output %q", s.cmd.ProcessState, s.seen)
	}
}

// Without bin/libtier0_srv.so the engine fails to load, whatever
// LD_LIBRARY_PATH srcds_run sets.
func TestSrcdsRunWithoutLibrary(t *testing.T) {
	t.Parallel()
	dir := installation(t, nil)
	if err := os.Remove(filepath.Join(dir, "bin", tier0Lib)); err != nil {
		t.Fatal(err)
	}
	s := startScript(t, dir, nil, "-game", "left4dead2", "-norestart")
	if code := s.wait(t); code != loaderExit ||
		s.seen[len(s.seen)-1] != "Failed to open dedicated_srv.so (libtier0_srv.so: cannot open shared object file: No such file or directory)" {
		t.Errorf("exit status %d, output %q", code, s.seen)
	}
}

// Without -norestart srcds_run restarts a failed engine after -timeout
// seconds, and on SIGINT quits through its trap.
func TestSrcdsRunRestarts(t *testing.T) {
	t.Parallel()
	dir := installation(t, map[string]string{"standin_crash": ""})
	s := startScript(t, dir, nil, "-game", "left4dead2", "-timeout", "1")
	s.waitLine(t, "Server will auto-restart if there is a crash.")
	s.waitLine(t, "standin: crash requested")
	s.waitLine(t, `Add "-debug" to the `+filepath.Join(dir, "srcds_run")+` command line to generate a debug.log to help with solving this problem`)
	if line := s.waitLine(t, "standin: "); !strings.HasSuffix(s.seen[len(s.seen)-2], ": Server restart in 1 seconds") || !strings.HasPrefix(line, "standin: argv: ") {
		t.Errorf("no restart in %q", s.seen)
	}
	s.waitLine(t, "standin: crash requested")
	if err := os.Remove(filepath.Join(dir, "left4dead2", "cfg", "standin_crash")); err != nil {
		t.Fatal(err)
	}
	s.waitLine(t, "standin: listening on udp ")
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	s.wait(t)
	if !signaledBy(s, syscall.SIGINT) || !strings.HasSuffix(s.seen[len(s.seen)-1], ": Server Quit") {
		t.Errorf("state %v, output %q", s.cmd.ProcessState, s.seen)
	}
}

// Options the stand-in does not imitate are refused, not ignored.
func TestSrcdsRunRefuses(t *testing.T) {
	t.Parallel()
	dir := installation(t, nil)
	s := startScript(t, dir, nil, "-game", "left4dead2", "-debug")
	if code := s.wait(t); code != 2 || s.seen[len(s.seen)-1] != "standin srcds_run: -debug is not imitated by the stand-in" {
		t.Errorf("exit status %d, output %q", code, s.seen)
	}
}
