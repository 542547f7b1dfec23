package probe

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/a2s"
)

// server answers A2S_INFO (without a challenge) until silenced.
func server(t *testing.T, delay time.Duration) (addr string, silent *atomic.Bool) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	silent = &atomic.Bool{}
	start := time.Now()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, ok := a2s.ParseRequest(buf[:n]); ok && !silent.Load() && time.Since(start) >= delay {
				_, _ = conn.WriteTo(a2s.EncodeInfo(a2s.Info{Name: "srv", Map: "c1m1", MaxPlayers: 8, Players: 2}), from)
			}
		}
	}()
	return conn.LocalAddr().String(), silent
}

type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

func (l *lines) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.l, "\n")
}

func TestReady(t *testing.T) {
	addr, _ := server(t, 700*time.Millisecond)
	var log lines
	info, err := Ready(context.Background(), addr, 5*time.Second, func() (string, string) { return "", "" }, nil, log.logf)
	if err != nil || info.Name != "srv" || !strings.Contains(log.text(), `ready: "srv" answers`) {
		t.Fatalf("%+v %v %s", info, err, log.text())
	}
}

func TestReadyNeverAnswers(t *testing.T) {
	addr, silent := server(t, 0)
	silent.Store(true)
	var log lines
	_, err := Ready(context.Background(), addr, 1500*time.Millisecond, func() (string, string) { return "", "" }, nil, log.logf)
	if err == nil || !strings.Contains(err.Error(), "never answered A2S_INFO on "+addr+" within 1.5s") {
		t.Fatalf("got %v", err)
	}
}

// Watch feeds the watchdog while answers come, then declares the server
// unresponsive and stops feeding it. A silent server whose console said
// it hibernates has a status line that says so (list reads it there).
func TestWatch(t *testing.T) {
	for _, tc := range []struct {
		name        string
		alive       bool
		restarted   bool
		hibernating bool
	}{
		{"silent and no other sign of life", false, true, false},
		{"silent but alive", true, false, false},
		{"silent, alive and hibernating", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testWatch(t, tc.alive, tc.restarted, tc.hibernating) })
	}
}

// A cause the server printed fails the start at once, naming it.
func TestReadyCause(t *testing.T) {
	addr, silent := server(t, 0)
	silent.Store(true)
	var log lines
	_, err := Ready(context.Background(), addr, time.Minute, func() (string, string) { return "", "Steam did not start" }, nil, log.logf)
	if err == nil || !strings.Contains(err.Error(), "can never answer A2S_INFO on "+addr+": Steam did not start") {
		t.Fatalf("err %v", err)
	}
}

func testWatch(t *testing.T, alive, restarted, hibernating bool) {
	addr, silent := server(t, 0)
	var log lines
	var mu sync.Mutex
	var pings, quiet int
	silentStatus := "STATUS=alive (frames running), not answering A2S_INFO"
	if hibernating {
		silentStatus = "STATUS=hibernating: no players (its console said so), not answering A2S_INFO; alive (frames running)"
	}
	notify := func(state string) error {
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(state, "WATCHDOG=1") {
			pings++
			switch {
			case strings.Contains(state, "STATUS=answering A2S_INFO: 2/8 players, map c1m1"):
			case strings.HasSuffix(state, "\n"+silentStatus):
				quiet++
				if got := Hibernating(strings.TrimPrefix(state, "WATCHDOG=1\nSTATUS=")); got != hibernating {
					t.Errorf("Hibernating(%q) = %v", state, got)
				}
			default:
				t.Errorf("status %q", state)
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	life := func() (bool, string) { return alive, "frames running" }
	go func() {
		done <- Watch(ctx, addr, 100*time.Millisecond, 600*time.Millisecond, notify, log.logf, life, func() bool { return hibernating })
	}()
	time.Sleep(350 * time.Millisecond)
	silent.Store(true)
	mu.Lock()
	before := pings
	mu.Unlock()
	if !restarted {
		// Silent for three hang periods, fed throughout.
		time.Sleep(1800 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if pings < before+10 || quiet < 10 || strings.Contains(log.text(), "unresponsive") || !strings.Contains(log.text(), "but alive (frames running)") {
			t.Fatalf("pings: %d while answering, %d in all; log %s", before, pings, log.text())
		}
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(log.text(), "unresponsive: no A2S_INFO answer") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if before == 0 || pings > before+1 {
		t.Fatalf("pings: %d while answering, %d in all", before, pings)
	}
	if !strings.Contains(log.text(), "unresponsive") {
		t.Fatalf("log: %s", log.text())
	}
}

// The engine sampler: a frame loop runs and sleeps, a busy loop runs
// without sleeping, a stopped process does neither and says so.
func TestEngineSample(t *testing.T) {
	for _, c := range []struct {
		name, script string
		frames, ran  bool
	}{
		{"frame loop", "while :; do sleep 0.01; done", true, true},
		{"busy loop", "while :; do :; done", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", c.script)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			e := &Engine{Proc: "/proc", PID: cmd.Process.Pid}
			if a, err := e.Sample(); err != nil || a.Ran {
				t.Fatalf("first sample: %+v %v", a, err)
			}
			time.Sleep(200 * time.Millisecond)
			a, err := e.Sample()
			if err != nil || a.Frames() != c.frames || a.Ran != c.ran || a.Stopped {
				t.Fatalf("running: %+v %v", a, err)
			}
			_ = cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(50 * time.Millisecond)
			_, _ = e.Sample()
			time.Sleep(50 * time.Millisecond)
			if a, err := e.Sample(); err != nil || a.Ran || a.Frames() || !a.Stopped {
				t.Fatalf("stopped: %+v %v", a, err)
			}
		})
	}
}

// A process holds the UDP ports it bound, and no others.
func TestHoldsUDPPort(t *testing.T) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := uint16(conn.LocalAddr().(*net.UDPAddr).Port)
	if ok, err := HoldsUDPPort("/proc", os.Getpid(), port); err != nil || !ok {
		t.Errorf("bound port %d: %v %v", port, ok, err)
	}
	if ok, err := HoldsUDPPort("/proc", os.Getpid(), port+1); err != nil || ok {
		t.Errorf("port %d: %v %v", port+1, ok, err)
	}
}

// A user's sockets are counted from the tables by their uid column, UDP
// and TCP apart, IPv4 and IPv6 together; the kernel's TIME_WAIT (uid 0)
// and other users' are not, nor a table's header.
func TestSockets(t *testing.T) {
	proc := t.TempDir()
	head := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	line := func(port, st string, uid int) string {
		return fmt.Sprintf("   0: 00000000:%s 00000000:0000 %s 00000000:00000000 00:00000000 00000000 %5d        0 %d 2 0000000000000000 0\n", port, st, uid, 1000+uid)
	}
	files := map[string]string{
		"net/udp":  head + line("6987", "07", 61234) + line("6988", "07", 61234) + line("6989", "07", 61235),
		"net/udp6": head + line("6990", "07", 61234),
		"net/tcp":  head + line("6987", "0A", 61234) + line("8F2A", "06", 0) + line("0016", "0A", 0),
		// no tcp6: a host without IPv6
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Join(proc, "net"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ uid, udp, tcp int }{{61234, 3, 1}, {61235, 1, 0}, {61236, 0, 0}} {
		udp, tcp, err := Sockets(proc, tc.uid, AllPorts())
		if err != nil || udp != tc.udp || tcp != tc.tcp {
			t.Errorf("uid %d: udp %d tcp %d (%v), want %d %d", tc.uid, udp, tcp, err, tc.udp, tc.tcp)
		}
	}
	// Only the ports of a range: the kernel's ephemeral ones, say (the
	// game's 27015 and an accepted RCON connection on it are not).
	eph := PortRange{Lo: 32768, Hi: 60999}
	if udp, tcp, err := Sockets(proc, 61234, eph); err != nil || udp != 0 || tcp != 0 {
		t.Errorf("61234's ephemeral: %d %d %v", udp, tcp, err)
	}
	if udp, tcp, err := Sockets(proc, 0, eph); err != nil || udp != 0 || tcp != 1 {
		t.Errorf("0's ephemeral: %d %d %v", udp, tcp, err)
	}
	// Nor the instance's own ports, wherever they are.
	if udp, tcp, err := Sockets(proc, 61234, PortRange{Lo: 27000, Hi: 28000, Not: []uint16{27016}}); err != nil || udp != 2 || tcp != 1 {
		t.Errorf("61234's of 27000-28000 but 27016: %d %d %v", udp, tcp, err)
	}
	if r, err := EphemeralPorts("/proc"); err != nil || r.Lo == 0 || r.Hi < r.Lo {
		t.Errorf("this host's ephemeral ports: %+v %v", r, err)
	}
	// This process's own, from the kernel's tables: counted on their
	// own ports (other tests open and close sockets meanwhile).
	for _, port := range udpPorts(t, 3) {
		if udp, tcp, err := Sockets("/proc", os.Getuid(), only(port)); err != nil || udp != 1 || tcp != 0 {
			t.Errorf("UDP port %d bound: udp %d tcp %d (%v)", port, udp, tcp, err)
		}
	}
}

// only is the one port.
func only(port uint16) PortRange { return PortRange{Lo: port, Hi: port} }

// udpPorts binds n UDP sockets on 127.0.0.1, closed at the test's end.
func udpPorts(t *testing.T, n int) []uint16 {
	t.Helper()
	var ports []uint16
	for range n {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ports = append(ports, uint16(c.LocalAddr().(*net.UDPAddr).Port))
	}
	return ports
}

// The host's count bounds every user's from above, and is read from
// sockstat's TCP alloc and UDP/UDP6 inuse alone.
func TestHostSockets(t *testing.T) {
	proc := t.TempDir()
	os.MkdirAll(filepath.Join(proc, "net"), 0o755)
	os.WriteFile(filepath.Join(proc, "net/sockstat"), []byte("sockets: used 900\nTCP: inuse 7 orphan 0 tw 40 alloc 12 mem 3\nUDP: inuse 5 mem 2\nUDPLITE: inuse 100\nRAW: inuse 0\n"), 0o644)
	if n, err := HostSockets(proc); err != nil || n != 17 {
		t.Errorf("without IPv6: %d %v, want 17", n, err)
	}
	os.WriteFile(filepath.Join(proc, "net/sockstat6"), []byte("TCP6: inuse 3\nUDP6: inuse 4\n"), 0o644)
	if n, err := HostSockets(proc); err != nil || n != 21 {
		t.Errorf("with IPv6: %d %v, want 21", n, err)
	}
	os.WriteFile(filepath.Join(proc, "net/sockstat"), []byte("sockets: used 900\n"), 0o644)
	if _, err := HostSockets(proc); err == nil {
		t.Error("no TCP line: no error")
	}
	// On this host: at least the sockets this test holds. (Not compared
	// with Sockets for this uid: other tests open and close sockets
	// meanwhile, and root's lines include the kernel's TIME_WAIT ones,
	// which are uid 0 and never a server's.)
	for range 3 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	if host, err := HostSockets("/proc"); err != nil || host < 3 {
		t.Errorf("this host, while this test holds 3 UDP sockets: %d in all (%v)", host, err)
	}
}

// What the relay's counts every layout.SocketsEvery cost, on this host's
// tables (go test -bench Sockets ./cmd/internal/probe).
func BenchmarkSockets(b *testing.B) {
	for b.Loop() {
		if _, _, err := Sockets("/proc", os.Getuid(), AllPorts()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostSockets(b *testing.B) {
	for b.Loop() {
		if _, err := HostSockets("/proc"); err != nil {
			b.Fatal(err)
		}
	}
}

// A squatter is named by its uid, systemd's dynamic users (another
// left4me server's among them) apart.
func TestOwners(t *testing.T) {
	for _, tc := range []struct {
		uids []int
		want string
	}{
		{[]int{65534}, "uid 65534; `getent passwd 65534` names it"},
		{[]int{61234}, "systemd's dynamic uid 61234 (another left4me server is l4d2-NAME); `getent passwd 61234` names it"},
		{[]int{0, 61234}, "uid 0 and systemd's dynamic uid 61234 (another left4me server is l4d2-NAME); `getent passwd 0 61234` names them"},
		{[]int{-1}, "uid unknown"},
	} {
		if got := Owners(tc.uids); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.uids, got, tc.want)
		}
	}
}

// The kernel's dump counts what the /proc tables count (a TCP socket
// that is bound only, which they miss, apart): this process's own, as
// it binds more.
func TestSocketsDiag(t *testing.T) {
	if _, _, err := SocketsDiag(os.Getuid(), AllPorts()); err != nil {
		t.Skipf("no sock_diag here: %v", err)
	}
	// Each counted on its own port (other tests open and close sockets
	// meanwhile), by the dump and by the tables alike.
	for _, port := range udpPorts(t, 3) {
		du, dt, err := SocketsDiag(os.Getuid(), only(port))
		pu, pt, perr := Sockets("/proc", os.Getuid(), only(port))
		if err != nil || perr != nil || du != 1 || dt != 0 || pu != 1 || pt != 0 {
			t.Errorf("UDP port %d: the dump %d %d (%v), the tables %d %d (%v)", port, du, dt, err, pu, pt, perr)
		}
		// Nor is a port the range leaves out counted.
		if du, dt, err := SocketsDiag(os.Getuid(), PortRange{Lo: port, Hi: port, Not: []uint16{port}}); err != nil || du+dt != 0 {
			t.Errorf("UDP port %d left out: %d %d (%v)", port, du, dt, err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lp := uint16(ln.Addr().(*net.TCPAddr).Port)
	if du, dt, err := SocketsDiag(os.Getuid(), only(lp)); err != nil || du != 0 || dt != 1 {
		t.Errorf("TCP listener on %d: %d %d (%v)", lp, du, dt, err)
	}
	// A TCP socket bound but neither listening nor connected holds its
	// port as well: in the dump (Linux 6.6+), in no /proc table.
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	bp := uint16(sa.(*unix.SockaddrInet4).Port)
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	release := unix.ByteSliceToString(uts.Release[:])
	var major, minor int
	fmt.Sscanf(release, "%d.%d", &major, &minor)
	want := 0 // TCP_BOUND_INACTIVE, dumped since Linux 6.6
	if major > 6 || major == 6 && minor >= 6 {
		want = 1
	}
	if _, dt, err := SocketsDiag(os.Getuid(), only(bp)); err != nil || dt != want {
		t.Errorf("kernel %s, a bound-only TCP socket on %d: %d (%v), want %d", release, bp, dt, err, want)
	}
	if _, pt, err := Sockets("/proc", os.Getuid(), only(bp)); err != nil || pt != 0 {
		t.Errorf("a bound-only TCP socket in the tables: %d (%v)", pt, err)
	}
	if u, tc, err := SocketsDiag(65533, AllPorts()); err != nil || u != 0 || tc != 0 {
		t.Errorf("a uid with none: %d %d %v", u, tc, err)
	}
}

func BenchmarkSocketsDiag(b *testing.B) {
	for b.Loop() {
		if _, _, err := SocketsDiag(os.Getuid(), AllPorts()); err != nil {
			b.Fatal(err)
		}
	}
}

// The kernel's own format (proc_do_large_bitmap): a comma list of ports
// and ranges, newline-terminated, empty when none is reserved.
func TestParseReserved(t *testing.T) {
	for _, c := range []struct {
		text    string
		yes, no []int
		bad     bool
	}{
		{text: "\n", no: []int{1, 27015, 65535}},
		{text: "27015\n", yes: []int{27015}, no: []int{27014, 27016}},
		{text: "8080,33000-33002,40000\n", yes: []int{8080, 33000, 33001, 33002, 40000}, no: []int{33003, 32999, 8081}},
		{text: "3-1\n", bad: true},
		{text: "a,1\n", bad: true},
		{text: "70000\n", bad: true},
	} {
		has, err := parseReserved(c.text)
		if (err != nil) != c.bad {
			t.Errorf("%q: error %v, want one: %v", c.text, err, c.bad)
			continue
		}
		for _, p := range c.yes {
			if !has(p) {
				t.Errorf("%q: %d not reserved", c.text, p)
			}
		}
		for _, p := range c.no {
			if has(p) {
				t.Errorf("%q: %d reserved", c.text, p)
			}
		}
	}
	// This kernel's file reads.
	if _, err := ReservedPorts("/proc"); err != nil {
		t.Error(err)
	}
}
