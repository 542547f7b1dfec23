package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/internal/probe"
)

func TestParseProbe(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want probeConfig
		err  string
	}{
		{"127.0.0.1:27015 1m54s 1m0s", probeConfig{"127.0.0.1:27015", 114 * time.Second, time.Minute}, ""},
		{"10.0.0.2:27016 9.5s 0s", probeConfig{"10.0.0.2:27016", 9500 * time.Millisecond, 0}, ""},
		{"127.0.0.1:27015 1m54s", probeConfig{}, "three fields"},
		{"[::1]:27015 1m 1m", probeConfig{}, "bad address"},
		{"127.0.0.1:0 1m 1m", probeConfig{}, "bad address"},
		{"127.0.0.1:27015 0s 1m", probeConfig{}, "bad timeout"},
		{"127.0.0.1:27015 1m -1s", probeConfig{}, "bad timeout"},
	} {
		got, err := parseProbe(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "LEFT4ME_PROBE") {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// The test binary doubles as the relay: started with this variable set it
// runs main instead of the tests.
const asMainEnv = "LEFT4ME_RELAY_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == lowerLimitArg { // the relay's server
		lowerParentsLimit()
	}
	if os.Getenv(asMainEnv) == "1" {
		os.Args = append([]string{prog}, os.Args[1:]...)
		main()
	}
	os.Exit(m.Run())
}

// A server that quits on its own (a console or RCON quit, no stop asked)
// is not a silent end for good: the relay exits 1, so Restart=on-failure
// restarts it. Its own failure status passes through.
func TestQuitOnItsOwnIsAFailure(t *testing.T) {
	for script, want := range map[string]int{"exit 0": 1, "exit 3": 3} {
		cmd := exec.Command(os.Args[0], "/bin/sh", "-c", script)
		cmd.Env = append(os.Environ(), asMainEnv+"=1", "LEFT4ME_PROBE=", "LEFT4ME_CONSOLE=", "NOTIFY_SOCKET=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if code != want {
			t.Errorf("%q: exit %d, want %d\n%s", script, code, want, out)
		}
		if want == 1 && !strings.Contains(string(out), "the server quit on its own") {
			t.Errorf("%q: %s", script, out)
		}
	}
}

// A stop while the server starts (it never answered) is what was asked:
// said, not an error; a server that dies before it answers is one.
func TestStoppedBeforeReady(t *testing.T) {
	for _, stop := range []bool{true, false} {
		script := "sleep 0.3; exit 1"
		if stop {
			script = "read line; exit 0" // the typed quit
		}
		cmd := exec.Command(os.Args[0], "/bin/sh", "-c", script)
		// A port nothing answers on: never ready.
		cmd.Env = append(os.Environ(), asMainEnv+"=1", "LEFT4ME_PROBE=127.0.0.1:9 5s 0s", "LEFT4ME_CONSOLE=", "NOTIFY_SOCKET=")
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if stop {
			time.Sleep(300 * time.Millisecond)
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		_ = cmd.Wait()
		said := out.String()
		if stop != strings.Contains(said, "the server was stopped before it answered A2S_INFO on 127.0.0.1:9") ||
			stop == strings.Contains(said, "the server exited before it answered A2S_INFO") {
			t.Errorf("stop %v:\n%s", stop, said)
		}
	}
}

func TestSteamCause(t *testing.T) {
	for line, want := range map[string]bool{
		"[S_API FAIL] SteamAPI_Init() failed; unable to locate a running instance of Steam, or a local steamclient.so.": true,
		"/home/x/.steam/sdk32/steamclient.so: cannot open shared object file: No such file or directory":                true,
		"[S_API] SteamAPI_Init(): Loaded '/home/x/.steam/sdk32/steamclient.so' OK.":                                     false,
		"Connection to Steam servers successful.":                                                                       false,
		"Initializing Steam libraries for LAN server":                                                                   true,
		"Initializing Steam libraries for secure Internet server":                                                       false,
	} {
		if got := steamCause([]byte(line)) != ""; got != want {
			t.Errorf("%q: %v, want %v", line, got, want)
		}
	}
}

// What the relay learns of hibernation from the console, and what it
// tells systemd at each change (the unit's status line, read by list):
// only the engine's whole lines count, each change is told once.
func TestHibernationLines(t *testing.T) {
	const asleep = "STATUS=hibernating: no players (its console said so), not answering A2S_INFO"
	const awake = "STATUS=awake: its console said it woke from hibernation"
	for _, tc := range []struct {
		name  string
		lines []string
		want  bool     // hibernating after them
		told  []string // what systemd was told, in order
	}{
		{"nothing said", []string{"Connection to Steam servers successful."}, false, nil},
		{"empty at start", []string{"Connection to Steam servers successful.", "Server is hibernating"}, true, []string{asleep}},
		{"a terminal's line end", []string{"Server is hibernating\r"}, true, []string{asleep}},
		{"a player came", []string{"Server is hibernating", `Client "Ellis" connected (10.0.0.2:27005).`, "Server waking up from hibernation"}, false, []string{asleep, awake}},
		{"and left again", []string{"Server is hibernating", "Server waking up from hibernation", "Server is hibernating"}, true, []string{asleep, awake, asleep}},
		{"said once per change", []string{"Server is hibernating", "Server is hibernating"}, true, []string{asleep}},
		{"awake from the start", []string{"Server waking up from hibernation"}, false, nil},
		{"a player's chat", []string{"Ellis: Server is hibernating"}, false, nil},
		{"a player named so", []string{`Client "Server is hibernating" connected (10.0.0.2:27005).`}, false, nil},
		{"not the whole line", []string{"Server is hibernating. Shutting down right now"}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var told []string
			l := &life{kick: make(chan struct{}, 1), notify: func(s string) error { told = append(told, s); return nil }}
			for _, line := range tc.lines {
				l.line([]byte(line + "\n"))
			}
			if got := l.hibernating.Load(); got != tc.want {
				t.Errorf("hibernating %v, want %v", got, tc.want)
			}
			if strings.Join(told, "|") != strings.Join(tc.told, "|") {
				t.Errorf("told systemd %q, want %q", told, tc.told)
			}
			for _, s := range told {
				if got := probe.Hibernating(strings.TrimPrefix(s, "STATUS=")); got != (s == asleep) {
					t.Errorf("probe.Hibernating(%q) = %v", s, got)
				}
			}
		})
	}
}

// The server that is up must hold its game port: answers on a port the
// engine does not hold come from another process, and the engine moved.
// TestOwnsRCON: the engine's RCON listener on its game port (TCP) must
// be its own: another process listening there, on any address, fails the
// start; nobody listening at all does not.
func TestOwnsRCON(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	port := udp.LocalAddr().(*net.UDPAddr).Port
	self := &probe.Engine{Proc: "/proc", PID: os.Getpid()}
	l := &life{eng: self, port: uint16(port)}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := l.ownsPort(addr); err != nil {
		t.Errorf("no RCON listener at all: %v", err)
	}
	// Another process listens on the TCP port: a squatter's.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Skipf("TCP port %d: %v", port, err)
	}
	stop := handOver(t, ln.(*net.TCPListener))
	err = l.ownsPort(addr)
	// Named by its uid: all /proc tells of another user's process.
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("TCP port %d (RCON) is taken by another process (uid %d; `getent passwd %d` names it)", port, os.Getuid(), os.Getuid())) {
		t.Errorf("a squatter on the RCON port: %v", err)
	}
	// The engine listens too (another address of the port): shared.
	mine, err := net.Listen("tcp", "127.0.0.2:"+strconv.Itoa(port))
	if err != nil {
		t.Skipf("127.0.0.2: %v", err)
	}
	defer mine.Close()
	err = l.ownsPort(addr)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("TCP port %d (RCON) is shared with another process", port)) {
		t.Errorf("the RCON port shared: %v", err)
	}
	stop()
	if err := l.ownsPort(addr); err != nil {
		t.Errorf("the engine's own RCON listener: %v", err)
	}
}

func TestOwnsPort(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	held := uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	self := &probe.Engine{Proc: "/proc", PID: os.Getpid()}
	if err := (&life{eng: self, port: held}).ownsPort("127.0.0.1:1"); err != nil {
		t.Errorf("a port the engine holds: %v", err)
	}
	other, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	free := uint16(other.LocalAddr().(*net.UDPAddr).Port)
	other.Close() // nobody holds it now: certainly not the engine
	err = (&life{eng: self, port: free}).ownsPort("127.0.0.1:" + strconv.Itoa(int(free)))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d is taken by another process: what answers on 127.0.0.1:%d is not this server, whose engine (PID %d) holds no socket on it", free, free, os.Getpid())) {
		t.Errorf("a port the engine does not hold: %v", err)
	}
	// An engine that quit just now (-strictportbind) holds nothing: the
	// answers on its port, held by this test, are another process's.
	gone := exec.Command("/bin/true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	err = (&life{eng: &probe.Engine{Proc: "/proc", PID: gone.Process.Pid}, port: held}).ownsPort("127.0.0.1:" + strconv.Itoa(int(held)))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d is taken by another process", held)) {
		t.Errorf("an engine that is gone: %v", err)
	}
	// The port shared (SO_REUSEADDR on both sides) with another process.
	reuse := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) })
		return errors.Join(err, serr)
	}}
	mineConn, err := reuse.ListenPacket(context.Background(), "udp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mineConn.Close()
	shared := mineConn.LocalAddr().(*net.UDPAddr).Port
	theirs, err := reuse.ListenPacket(context.Background(), "udp", "127.0.0.1:"+strconv.Itoa(shared))
	if err != nil {
		t.Fatal(err)
	}
	handOver(t, theirs.(*net.UDPConn)) // the other process's alone now
	err = (&life{eng: self, port: uint16(shared)}).ownsPort("127.0.0.1:" + strconv.Itoa(shared))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d is shared with another process", shared)) {
		t.Errorf("a port shared with another process: %v", err)
	}
}

// The relay of a server with hang_timeout: 0 feeds the watchdog at a
// third of what systemd gave this process, and not at all without one.
func TestRelayWatchdog(t *testing.T) {
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
	}{
		{"30000000", "", 10 * time.Second},
		{"30000000", "42", 10 * time.Second},
		{"30000000", "43", 0}, // another process's
		{"", "", 0},
		{"0", "", 0},
		{"x", "", 0},
	} {
		env := map[string]string{"WATCHDOG_USEC": c.usec, "WATCHDOG_PID": c.pid}
		if got := relayWatchdog(func(k string) string { return env[k] }, 42); got != c.want {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v, want %v", c.usec, c.pid, got, c.want)
		}
	}
}

// The relay's own watchdog is fed only on a tick after which a socket
// count ran: a relay that is let run for a moment now and then (SIGSTOP,
// SIGCONT) without a whole count gets no feed.
func TestFeeder(t *testing.T) {
	var counts uint64
	fed := 0
	f := feeder{counted: func() uint64 { return counts }, notify: func(s string) error {
		if s != "WATCHDOG=1" {
			t.Errorf("sent %q", s)
		}
		fed++
		return nil
	}}
	f.feed()
	for i, c := range []struct {
		counted uint64 // counts run before the tick
		fed     int    // feeds so far
	}{{1, 2}, {0, 2}, {0, 2}, {3, 3}, {1, 4}} {
		counts += c.counted
		f.tick()
		if fed != c.fed {
			t.Errorf("tick %d (%d counts since the last): %d feeds, want %d", i, c.counted, fed, c.fed)
		}
	}
	// Without a count (run by hand), every tick feeds.
	fed = 0
	g := feeder{notify: f.notify}
	g.tick()
	g.tick()
	if fed != 2 {
		t.Errorf("without a count: %d feeds, want 2", fed)
	}
}
