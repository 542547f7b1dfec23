package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// holdPorts binds n consecutive UDP ports on every address for the test
// and returns the first.
func holdPorts(t *testing.T, n int) uint16 {
	t.Helper()
	for range 50 {
		base := freeUDPPort(t)
		if int(base)+n > 65535 {
			continue
		}
		var held []net.PacketConn
		for i := range n {
			c, err := net.ListenPacket("udp4", "0.0.0.0:"+strconv.Itoa(int(base)+i))
			if err != nil {
				break
			}
			held = append(held, c)
		}
		if len(held) == n {
			t.Cleanup(func() {
				for _, c := range held {
					c.Close()
				}
			})
			return base
		}
		for _, c := range held {
			c.Close()
		}
	}
	t.Fatalf("no %d consecutive free UDP ports", n)
	return 0
}

// portFree reports whether a UDP port can be bound on every address.
func portFree(p int) bool {
	c, err := net.ListenPacket("udp4", "0.0.0.0:"+strconv.Itoa(p))
	if err == nil {
		c.Close()
	}
	return err == nil
}

func queryInfo(t *testing.T, addr string, timeout time.Duration) (a2s.Info, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return a2s.Query(ctx, addr)
}

// -ip binds that address only: the server answers there and not on
// another loopback address.
func TestStandinBindsIP(t *testing.T) {
	dir := writeCfgs(t, nil)
	port := strconv.Itoa(int(freeUDPPort(t)))
	s := startStandin(t, dir, nil, "-game", "left4dead2", "-ip", "127.0.0.2", "-port", port, "+map", "c1m1_hotel")
	if got, want := s.waitLine(t, "standin: listening on udp "), "standin: listening on udp 127.0.0.2:"+port; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if info, err := queryInfo(t, "127.0.0.2:"+port, 2*time.Second); err != nil || info.Map != "c1m1_hotel" {
		t.Errorf("on 127.0.0.2: %+v, %v", info, err)
	}
	if _, err := queryInfo(t, "127.0.0.1:"+port, 300*time.Millisecond); err == nil {
		t.Error("answered on 127.0.0.1")
	}
}

// A busy port makes the engine move on to the next one and say so; the
// A2S_INFO game port and the report follow.
func TestStandinPortBusy(t *testing.T) {
	var busy uint16
	for range 20 {
		if busy = holdPorts(t, 1); portFree(int(busy) + 1) {
			break
		}
	}
	dir := writeCfgs(t, nil)
	s := startStandin(t, dir, nil, append([]string{"-game", "left4dead2", "-port", strconv.Itoa(int(busy))}, otherPorts(t)...)...)
	moved := strconv.Itoa(int(busy) + 1)
	want := "WARNING: Port " + strconv.Itoa(int(busy)) + " was unavailable - bound to port " + moved + " instead"
	if got := s.waitLine(t, "WARNING: "); got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	s.waitLine(t, "standin: listening on udp 0.0.0.0:"+moved)
	info, err := queryInfo(t, "127.0.0.1:"+moved, 2*time.Second)
	if err != nil || strconv.Itoa(int(info.Port)) != moved {
		t.Errorf("on the moved port: %+v, %v", info, err)
	}
	s.waitLine(t, "standin: report ")
	if rep := readReport(t, dir); rep.Port != busy || strconv.Itoa(int(rep.BoundPort)) != moved {
		t.Errorf("report port %d, bound_port %d", rep.Port, rep.BoundPort)
	}
}

// With -strictportbind a busy port is fatal: Sys_Exit, _exit(100).
func TestStandinStrictPortBind(t *testing.T) {
	busy := strconv.Itoa(int(holdPorts(t, 1)))
	s := startStandin(t, writeCfgs(t, nil), nil, append([]string{"-game", "left4dead2", "-strictportbind", "-port", busy}, otherPorts(t)...)...)
	if code := s.wait(t); code != 100 {
		t.Errorf("exit status %d, want 100", code)
	}
	want := "ERROR: Port " + busy + ` was unavailable - quitting due to "-strictportbind" command-line flag!`
	if last := s.seen[len(s.seen)-1]; last != want {
		t.Errorf("last line %q, want %q", last, want)
	}
}

// Ten busy ports in a row, or a bind that fails otherwise, leave the
// engine without a server socket.
func TestStandinNoServerSocket(t *testing.T) {
	tests := []struct {
		name string
		args func() []string
		want []string
	}{
		{"ten busy ports", func() []string { return []string{"-port", strconv.Itoa(int(holdPorts(t, portTryMax)))} },
			[]string{"WARNING: UDP_OpenSocket: unable to bind socket", "Couldn't allocate any server IP port"}},
		// 192.0.2.1 (TEST-NET-1) is no address of this host. +ip comes
		// after NET_Init: the client socket binds every address.
		{"foreign address", func() []string { return []string{"+ip", "192.0.2.1"} },
			[]string{"WARNING: NNET_OpenSocket: bind: Cannot assign requested address", "Couldn't allocate any server IP port"}},
		{"foreign -ip", func() []string { return []string{"-ip", "192.0.2.1"} },
			[]string{"WARNING: NNET_OpenSocket: bind: Cannot assign requested address", "Couldn't allocate any client IP port"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"-game", "left4dead2"}, tc.args()...), otherPorts(t)...)
			s := startStandin(t, writeCfgs(t, nil), nil, args...)
			if code := s.wait(t); code != 100 {
				t.Errorf("exit status %d, want 100", code)
			}
			if got := s.seen[len(s.seen)-2:]; strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("last lines %q, want %q", got, tc.want)
			}
		})
	}
}
