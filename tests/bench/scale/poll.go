package main

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/tests/container"
)

// monoUS is CLOCK_MONOTONIC in µs, the clock of systemd's *Monotonic
// timestamps (the container shares the host's).
func monoUS() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}

// answering waits until every port answers A2S_INFO from inside the
// container's network, at most timeout, and returns when each first did
// (monoUS).
// One socket asks all of them every 20 ms, so a slow port does not delay
// noticing the others; a challenge is answered at once, as clients do.
func answering(ct *container.Container, ports []int, timeout time.Duration) (map[int]int64, error) {
	var conn *net.UDPConn
	var err error
	if nerr := ct.Netns(func() { conn, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}) }); nerr != nil {
		return nil, nerr
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	pending := map[int]bool{}
	for _, p := range ports {
		pending[p] = true
	}
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 1400)
	first := map[int]int64{}
	for len(pending) > 0 {
		if time.Now().After(deadline) {
			return first, fmt.Errorf("%d of %d instances did not answer A2S within %v", len(pending), len(ports), timeout)
		}
		for p := range pending {
			_, _ = conn.WriteToUDP(a2s.EncodeRequest(nil), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				continue // ICMP port unreachable, from a port not bound yet
			}
			pkt := buf[:n]
			if n == 9 && pkt[4] == 'A' { // S2C_CHALLENGE
				_, _ = conn.WriteToUDP(a2s.EncodeRequest(pkt[5:9]), from)
				continue
			}
			if _, err := a2s.ParseInfo(pkt); err == nil && pending[from.Port] {
				delete(pending, from.Port)
				first[from.Port] = monoUS()
			}
		}
	}
	return first, nil
}
