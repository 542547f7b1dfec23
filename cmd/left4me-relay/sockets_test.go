package main

import (
	"errors"
	"strings"
	"testing"

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
	udp, tcp := overSockets(func() (int, int, error) {
		c := counts[n]
		n++
		return c.udp, c.tcp, c.err
	}, 1024, 0, func(err error) { said = append(said, err) })
	if udp != 1020 || tcp != 5 || n != 5 || len(said) != 1 {
		t.Errorf("returned %d %d after %d counts, %d failures said; want 1020 5 after 5, 1 said", udp, tcp, n, len(said))
	}
	msg := socketsError(udp, tcp, probe.PortRange{Lo: 32768, Hi: 60999}).Error()
	if !strings.HasPrefix(msg, socketsSaid) || !strings.Contains(msg, "holds 1025 of the host's ephemeral ports 32768-60999 (UDP 1020, TCP 5), more than the 1024 a server may") {
		t.Errorf("said %q", msg)
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
