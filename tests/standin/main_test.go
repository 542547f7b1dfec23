package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/prestart/a2s"
)

// The test binary doubles as the stand-in: started with this variable set
// it runs main instead of the tests, so no toolchain is needed at run time.
const asMainEnv = "STANDIN_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// standin is a running stand-in process and its output so far.
type standin struct {
	cmd   *exec.Cmd
	lines chan string // closed at end of output
	seen  []string
}

// startStandin runs the stand-in in dir with the given arguments and
// extra environment.
func startStandin(t *testing.T, dir string, env []string, args ...string) *standin {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &standin{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return s
}

// waitLine waits for a line with the prefix and returns it.
func (s *standin) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("output ended before %q; got:\n%s", prefix, strings.Join(s.seen, "\n"))
			}
			s.seen = append(s.seen, line)
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("no line %q within 10s; got:\n%s", prefix, strings.Join(s.seen, "\n"))
		}
	}
}

// wait drains the output and returns the exit status.
func (s *standin) wait(t *testing.T) int {
	t.Helper()
	for line := range s.lines {
		s.seen = append(s.seen, line)
	}
	err := s.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return s.cmd.ProcessState.ExitCode()
}

// freeUDPPort returns a port that was free a moment ago.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return uint16(conn.LocalAddr().(*net.UDPAddr).Port)
}

func TestStandin(t *testing.T) {
	dir := writeCfgs(t, map[string]string{
		"server.cfg":  "exec left4me\nsv_consistency 0",
		"left4me.cfg": `hostname "Cfg server"`,
	})
	port := freeUDPPort(t)
	portArg := strconv.Itoa(int(port))
	args := []string{"-game", "left4dead2", "-port", portArg, "+map", "c1m1_hotel",
		"-tickrate", "100", "+hostname", "My server"}
	s := startStandin(t, dir, nil, args...)
	s.waitLine(t, "standin: listening on udp ")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := a2s.Query(ctx, "127.0.0.1:"+portArg)
	if err != nil {
		t.Fatal(err)
	}
	want := a2s.Info{Protocol: 17, Name: "Cfg server", Map: "c1m1_hotel", Folder: "left4dead2",
		Game: "Left 4 Dead 2", AppID: 550, MaxPlayers: 8, ServerType: 'd', Environment: 'l',
		Version: "2.2.4.3", Port: port}
	if info != want {
		t.Errorf("info %+v\nwant %+v", info, want)
	}

	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	assertLinesInOrder(t, strings.Join(s.seen, "\n"), []string{
		"standin: exec left4dead2/cfg/server.cfg",
		"standin: exec left4dead2/cfg/left4me.cfg",
		`standin: cfg left4dead2/cfg/left4me.cfg: hostname "Cfg server"`,
		"standin: cfg left4dead2/cfg/server.cfg: sv_consistency 0",
		"standin: quitting on SIGINT",
	})

	data, err := os.ReadFile(filepath.Join(dir, "left4dead2", "standin-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	wantRep := report{
		Argv: append([]string{os.Args[0]}, args...), UID: os.Getuid(), GID: os.Getgid(),
		Cwd: dir, Hostname: "Cfg server", Map: "c1m1_hotel", Port: port,
		CfgChain: []cfgFile{
			{"left4dead2/cfg/server.cfg", []string{"exec left4me", "sv_consistency 0"}},
			{"left4dead2/cfg/left4me.cfg", []string{`hostname "Cfg server"`}},
		},
		PID: s.cmd.Process.Pid,
	}
	if !reflect.DeepEqual(rep, wantRep) {
		t.Errorf("report\n%+v\nwant\n%+v", rep, wantRep)
	}
	// The argv line must be the JSON array, for the e2e tests to decode.
	var argv []string
	line := s.seen[0]
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "standin: argv: ")), &argv); err != nil ||
		!reflect.DeepEqual(argv, wantRep.Argv) {
		t.Errorf("argv line %q: %v", line, err)
	}
}

func TestStandinFaults(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		env      []string
		signal   os.Signal // sent after the wait line, if not nil
		waitLine string
		code     int
	}{
		{"crash marker", map[string]string{"standin_crash": ""}, nil, nil, "standin: crash requested", 1},
		{"crash after", nil, []string{"STANDIN_CRASH_AFTER=100ms"}, nil,
			"standin: crashing after 100ms", 1},
		{"SIGTERM during start delay", nil, []string{"STANDIN_START_DELAY=1h"}, syscall.SIGTERM,
			"standin: waiting 1h0m0s before binding", 0},
		{"bad duration", nil, []string{"STANDIN_START_DELAY=soon"}, nil, "standin: STANDIN_START_DELAY: ", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCfgs(t, tc.files)
			s := startStandin(t, dir, tc.env, "-port", strconv.Itoa(int(freeUDPPort(t))))
			s.waitLine(t, tc.waitLine)
			if tc.signal != nil {
				if err := s.cmd.Process.Signal(tc.signal); err != nil {
					t.Fatal(err)
				}
			}
			if code := s.wait(t); code != tc.code {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tc.code, strings.Join(s.seen, "\n"))
			}
			if tc.signal == syscall.SIGTERM && s.seen[len(s.seen)-1] != "standin: quitting on SIGTERM" {
				t.Errorf("last line %q", s.seen[len(s.seen)-1])
			}
		})
	}
}
