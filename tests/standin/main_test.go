package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
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

	"github.com/left4me/left4me/cmd/a2s"
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

// engineCmd runs the test binary as the stand-in engine in dir the way
// srcds_run starts srcds_linux: argv[0] "./srcds_linux", a dummy
// bin/libtier0_srv.so in dir and LD_LIBRARY_PATH ".:bin:". Later entries
// of env win over these.
func engineCmd(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	installLib(t, dir)
	cmd := exec.Command(testBinary(t), args...)
	cmd.Args[0] = "./srcds_linux"
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1", "STANDIN_STDIO=line", "LD_LIBRARY_PATH=.:bin:", "STANDIN_SIGNALS=clean"), env...)
	return cmd
}

// installLib puts a dummy bin/libtier0_srv.so into dir.
func installLib(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", tier0Lib), []byte("not really ELF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// startStandin runs the stand-in engine in dir with the given arguments
// and extra environment.
func startStandin(t *testing.T, dir string, env []string, args ...string) *standin {
	t.Helper()
	return start(t, engineCmd(t, dir, env, args...))
}

// start starts cmd in its own process group, killed with the test.
func start(t *testing.T, cmd *exec.Cmd) *standin {
	t.Helper()
	var stdout io.ReadCloser
	for try := 0; ; try++ {
		c := &exec.Cmd{Path: cmd.Path, Args: cmd.Args, Dir: cmd.Dir, Env: cmd.Env}
		var err error
		if stdout, err = c.StdoutPipe(); err != nil {
			t.Fatal(err)
		}
		c.Stderr = c.Stdout
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err = c.Start()
		// A script just written may still be open for writing in a child
		// that a parallel test forked, until its exec: exec then fails
		// with ETXTBSY (golang/go#22315). It is soon closed.
		if errors.Is(err, syscall.ETXTBSY) && try < 50 {
			stdout.Close()
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		cmd = c
		break
	}
	s := &standin{cmd: cmd, lines: make(chan string, 100)}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			// A carriage return starts over, as on a terminal (srcds_run's
			// root countdown).
			for _, l := range strings.Split(sc.Text(), "\r") {
				s.lines <- l
			}
		}
	}()
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	return s
}

// waitLine waits for a line with the prefix and returns it. The time
// allowed covers srcds_run's ten second countdown as root.
func (s *standin) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
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
			t.Fatalf("no line %q within 30s; got:\n%s", prefix, strings.Join(s.seen, "\n"))
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
		Argv: append([]string{"./srcds_linux"}, args...), UID: os.Getuid(), GID: os.Getgid(),
		Cwd: dir, Hostname: "Cfg server", Map: "c1m1_hotel", Port: port,
		CfgChain: []cfgFile{
			{"left4dead2/cfg/server.cfg", []string{"exec left4me", "sv_consistency 0"}},
			{"left4dead2/cfg/left4me.cfg", []string{`hostname "Cfg server"`}},
		},
		PID: s.cmd.Process.Pid, BoundPort: port, Wrote: []string{}, WriteErrors: []string{},
		Ports: rep.Ports, // the other sockets: TestStandinOpensEveryPort
	}
	if rep.Ports["server"] != port {
		t.Errorf("ports %v", rep.Ports)
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
		{"SIGTERM during start delay", nil, []string{"STANDIN_START_DELAY=1h", "STANDIN_SIGNALS=clean"}, syscall.SIGTERM,
			"standin: waiting 1h0m0s before binding", 0},
		// Source 2013: no handler, the signal kills it (-1: no exit status).
		{"SIGINT kills without a handler", nil, []string{"STANDIN_START_DELAY=1h", "STANDIN_SIGNALS=none"}, syscall.SIGINT,
			"standin: waiting 1h0m0s before binding", -1},
		{"bad signal mode", nil, []string{"STANDIN_SIGNALS=polite"}, nil, "standin: STANDIN_SIGNALS=", 2},
		{"bad duration", nil, []string{"STANDIN_START_DELAY=soon"}, nil, "standin: STANDIN_START_DELAY: ", 2},
		{"bad bots", nil, []string{"STANDIN_BOTS=many"}, nil, "standin: STANDIN_BOTS: ", 2},
		{"too many players", nil, []string{"STANDIN_PLAYERS=200", "STANDIN_BOTS=56"}, nil,
			"standin: STANDIN_PLAYERS+STANDIN_BOTS: 256", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCfgs(t, tc.files)
			s := startStandin(t, dir, tc.env, "-game", "left4dead2", "-port", strconv.Itoa(int(freeUDPPort(t))))
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

// readReport reads the report of a stand-in that ran in dir.
func readReport(t *testing.T, dir string) report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "left4dead2", "standin-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// exchangeOnce sends one datagram to addr and returns the answer.
func exchangeOnce(t *testing.T, addr string, req []byte) []byte {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}
