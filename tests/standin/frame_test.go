package main

import (
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// runFrames runs s's frames every d until the test ends, as the frame loop
// does on the main thread, then closes its socket.
func runFrames(t *testing.T, s *server, d time.Duration) {
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				done <- nil
				return
			case <-tick.C:
				if err := s.processSocket(); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Error(err)
		}
		s.conn.Close()
	})
}

// Between frames nothing is answered; queries queue and the next frame
// answers all of them at once, in the order they came (NET_ProcessSocket).
func TestProcessSocketAnswersOnlyInFrames(t *testing.T) {
	for _, tc := range []struct {
		name    string
		queries int
	}{{"none", 0}, {"one", 1}, {"burst", 40}} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			s := &server{challenge: [4]byte{1, 2, 3, 4}, gate: &gate{}, conn: conn}
			client, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			for range tc.queries {
				if _, err := client.WriteTo(a2s.EncodeRequest(nil), conn.LocalAddr()); err != nil {
					t.Fatal(err)
				}
			}
			buf := make([]byte, 2048)
			_ = client.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
			if _, _, err := client.ReadFrom(buf); err == nil {
				t.Fatal("answered between frames")
			}
			start := time.Now()
			if err := s.processSocket(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("a frame took %v: it waited for queries", d)
			}
			want := a2s.EncodeChallenge(s.challenge)
			_ = client.SetReadDeadline(time.Now().Add(time.Second))
			for i := range tc.queries {
				n, _, err := client.ReadFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], want) {
					t.Fatalf("answer %d: % x, %v", i, buf[:n], err)
				}
			}
			_ = client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, _, err := client.ReadFrom(buf); err == nil {
				t.Error("more answers than queries")
			}
		})
	}
}

// A query sent while the map loads is neither answered nor lost: it waits
// in the socket and the first frame after the load answers it.
func TestStandinMapLoadQueues(t *testing.T) {
	dir := t.TempDir()
	port := freeUDPPort(t)
	s := startStandin(t, dir, []string{"STANDIN_MAPLOAD=1500ms"}, "-game", "left4dead2", "-port", strconv.Itoa(int(port)))
	s.waitLine(t, "standin: listening")
	start := time.Now()
	got := exchangeOnce(t, "127.0.0.1:"+strconv.Itoa(int(port)), a2s.EncodeRequest(nil))
	if len(got) < 5 || got[4] != 'A' {
		t.Fatalf("answer % x; want a challenge", got)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("answered after %v, during the 1.5 s load", d)
	}
}
