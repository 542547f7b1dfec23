package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/left4me/left4me/prestart/a2s"
)

// serveA2S answers A2S_INFO on conn until conn is closed. Like L4D2, it
// hands out a challenge to any request that lacks the right one and sends
// the info only to requests that carry it. Other datagrams are ignored.
// While silent is set, requests are read and dropped.
func serveA2S(conn net.PacketConn, info a2s.Info, challenge [4]byte, silent *atomic.Bool) error {
	reply := a2s.EncodeInfo(info)
	buf := make([]byte, 2048)
	for {
		n, from, err := conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("a2s: read: %w", err)
		}
		got, ok := a2s.ParseRequest(buf[:n])
		if !ok || silent.Load() {
			continue
		}
		out := a2s.EncodeChallenge(challenge)
		if bytes.Equal(got, challenge[:]) {
			out = reply
		}
		if _, err := conn.WriteTo(out, from); err != nil {
			// A client gone away must not stop the server.
			continue
		}
	}
}
