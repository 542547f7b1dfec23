package main

import (
	"errors"
	"strings"
	"testing"
)

// The count is taken until it goes over the bound (a failed count is
// tried again, one at the bound is not over it), and what it found is
// said with both families and the bound.
func TestOverSockets(t *testing.T) {
	counts := []struct {
		udp, tcp int
		err      error
	}{{3, 1, nil}, {0, 0, errors.New("no net/udp")}, {1000, 24, nil}, {1020, 5, nil}, {9, 9, nil}}
	n := 0
	udp, tcp := overSockets(func() (int, int, error) {
		c := counts[n]
		n++
		return c.udp, c.tcp, c.err
	}, 1024, 0)
	if udp != 1020 || tcp != 5 || n != 4 {
		t.Errorf("returned %d %d after %d counts, want 1020 5 after 4", udp, tcp, n)
	}
	if msg := socketsError(udp, tcp).Error(); !strings.Contains(msg, "holds 1025 of the host's UDP and TCP sockets (UDP 1020, TCP 5), more than the 1024 a server may") {
		t.Errorf("said %q", msg)
	}
}
