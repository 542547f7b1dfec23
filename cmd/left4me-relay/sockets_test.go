package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/spec/layout"
)

// The count is taken until it goes over the bound (a failed count is
// tried again and said once, one at the bound is not over it), and what
// it found is said with both families, the range and the bound.
func TestOverSockets(t *testing.T) {
	counts := []struct {
		udp, tcp int
		err      error
	}{{3, 1, nil}, {0, 0, errors.New("no net/udp")}, {0, 0, errors.New("no net/udp")}, {1000, 24, nil}, {1020, 5, nil}, {9, 9, nil}}
	n := 0
	var said []error
	udp, tcp, err := overSockets(func() (int, int, error) {
		c := counts[n]
		n++
		return c.udp, c.tcp, c.err
	}, 1024, 0, func(err error) { said = append(said, err) })
	if udp != 1020 || tcp != 5 || err != nil || n != 5 || len(said) != 1 {
		t.Errorf("returned %d %d after %d counts, %d failures said; want 1020 5 after 5, 1 said", udp, tcp, n, len(said))
	}
	msg := socketsError(udp, tcp, probe.PortRange{Lo: 32768, Hi: 60999}).Error()
	if !strings.HasPrefix(msg, socketsSaid) || !strings.Contains(msg, "holds 1025 of the host's ephemeral ports 32768-60999 (UDP 1020, TCP 5), more than the 1024 a server may") {
		t.Errorf("said %q", msg)
	}
}

// A count the server blinded (it lowered the relay's open-file limit)
// ends the count at once, with why: it would fail for good.
func TestOverSocketsBlinded(t *testing.T) {
	n := 0
	b := blinded{unix.Rlimit{Cur: 524288, Max: 524288}, unix.Rlimit{Cur: 8, Max: 8}}
	_, _, err := overSockets(func() (int, int, error) {
		n++
		if n < 3 {
			return 3, 1, nil
		}
		return 0, 0, b
	}, 1024, 0, func(error) { t.Error("a blinded count was said as a failed one") })
	if n != 3 || !errors.Is(err, b) {
		t.Errorf("returned %v after %d counts; want the blinded error after 3", err, n)
	}
}

// A limit lowered since the start, soft or hard, is the server's doing;
// one kept or raised, or unreadable, is not.
func TestLimitKept(t *testing.T) {
	was := unix.Rlimit{Cur: 1024, Max: 4096}
	for _, tc := range []struct {
		now  unix.Rlimit
		err  error
		want string
	}{
		{unix.Rlimit{Cur: 1024, Max: 4096}, nil, ""},
		{unix.Rlimit{Cur: 4096, Max: 8192}, nil, ""},
		{unix.Rlimit{Cur: 8, Max: 4096}, nil, "lowered the relay's open-file limit (prlimit) to 8 (hard 4096) from 1024 (hard 4096)"},
		{unix.Rlimit{Cur: 1024, Max: 1024}, nil, "to 1024 (hard 1024) from 1024 (hard 4096)"},
		{unix.Rlimit{}, unix.EPERM, ""},
	} {
		err := limitKept(was, func() (unix.Rlimit, error) { return tc.now, tc.err })
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v %v: %v, want %q", tc.now, tc.err, err, tc.want)
		}
	}
}

// lowerLimitArg makes the test binary a server whose plugin lowers its
// relay's open-file limit, as its user may (prlimit), then idles.
const lowerLimitArg = "-left4me-test-lower-limit"

func lowerParentsLimit() {
	lim := unix.Rlimit{Cur: 8, Max: 8}
	if err := unix.Prlimit(os.Getppid(), unix.RLIMIT_NOFILE, &lim, nil); err != nil {
		fmt.Println("prlimit:", err)
		os.Exit(1)
	}
	time.Sleep(15 * time.Second)
	os.Exit(0)
}

// A server that lowers its relay's open-file limit, so that every count
// fails while the watchdog is fed, is killed at the next count, said, and
// the relay exits the socket kill's status.
func TestBlindedCountKills(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a count (up to 7.5 s)")
	}
	cmd := exec.Command(os.Args[0], os.Args[0], lowerLimitArg)
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "INVOCATION_ID=left4me-test", "LEFT4ME_PROBE=", "LEFT4ME_CONSOLE=", "NOTIFY_SOCKET=")
	out, _ := cmd.CombinedOutput()
	if cmd.ProcessState.ExitCode() != layout.SocketKillStatus || !strings.Contains(string(out), "the server blinds the socket count: its user lowered the relay's open-file limit (prlimit) to 8 (hard 8)") {
		t.Errorf("exit %d, want %d:\n%s", cmd.ProcessState.ExitCode(), layout.SocketKillStatus, out)
	}
}

// The relay exits with the server's status, but the socket kill's only
// when it killed: a server that exits so itself would pass for one.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		code   int
		killed bool
		want   int
	}{{0, false, 0}, {100, false, 100}, {137, true, layout.SocketKillStatus}, {1, true, layout.SocketKillStatus}, {layout.SocketKillStatus, false, 1}} {
		if got := exitCode(tc.code, tc.killed); got != tc.want {
			t.Errorf("exitCode(%d, %v) = %d, want %d", tc.code, tc.killed, got, tc.want)
		}
	}
}

// The instance's own ports are left out of the count: the game port
// (RCON's accepted connections on it) and the client and SourceTV ports.
func TestOwnPorts(t *testing.T) {
	got := ownPorts(40000, otherPorts([]string{"-port", "40000", "+clientport", "41000", "+tv_port", "42000"}))
	r := probe.PortRange{Lo: 32768, Hi: 60999, Not: got}
	for p, want := range map[uint16]bool{40000: false, 41000: false, 42000: false, 40001: true, 32768: true, 27015: false} {
		if r.Has(p) != want {
			t.Errorf("port %d counted: %v, want %v (own %v)", p, r.Has(p), want, got)
		}
	}
}
