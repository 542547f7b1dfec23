package main

import (
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// otherPorts are free ports for the client, SourceTV and Steam sockets,
// so that a test about one socket does not meet the engine's defaults
// (27005, 27020, 26901) held by another program on the host.
func otherPorts(t *testing.T) []string {
	t.Helper()
	return []string{"+clientport", strconv.Itoa(int(freeUDPPort(t))), "+tv_port", strconv.Itoa(int(freeUDPPort(t))),
		"-steamport", strconv.Itoa(int(freeUDPPort(t)) - 1)}
}

// udpHeld reports whether port is bound (on every address) now.
func udpHeld(p uint16) bool { return !portFree(int(p)) }

// Every socket is opened on the port the command line gives: the server's,
// the client's, SourceTV's and the Steam library's (-steamport + 1).
func TestStandinOpensEveryPort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noHLTV bool
	}{{"with SourceTV", false}, {"-nohltv", true}} {
		t.Run(tc.name, func(t *testing.T) {
			game, client, tv, steam := freeUDPPort(t), freeUDPPort(t), freeUDPPort(t), freeUDPPort(t)
			args := []string{"-game", "left4dead2", "-strictportbind", "-port", itoa(game), "+clientport", itoa(client),
				"+tv_port", itoa(tv), "-steamport", itoa(steam - 1)}
			if tc.noHLTV {
				args = append(args, "-nohltv")
			}
			dir := writeCfgs(t, nil)
			s := startStandin(t, dir, nil, args...)
			s.waitLine(t, "standin: listening on udp ")
			s.waitLine(t, "standin: report ")
			want := map[string]uint16{"server": game, "client": client, "hltv": tv, "steam": steam}
			if tc.noHLTV {
				delete(want, "hltv")
			}
			rep := readReport(t, dir)
			if len(rep.Ports) != len(want) {
				t.Errorf("ports %v, want %v", rep.Ports, want)
			}
			for k, p := range want {
				if rep.Ports[k] != p || !udpHeld(p) {
					t.Errorf("%s: report %d, want %d (held: %v)", k, rep.Ports[k], p, udpHeld(p))
				}
			}
			if tc.noHLTV && udpHeld(tv) {
				t.Errorf("-nohltv, yet port %d is bound", tv)
			}
		})
	}
}

// Source 2013: with -strictportbind any socket that has to move ends the
// process with status 100, the client's too; without it the client socket
// moves, and after ten busy ports takes any port (bTryAny).
func TestStandinSource2013Client(t *testing.T) {
	busy := holdPorts(t, portTryMax)
	base := []string{"-game", "left4dead2", "-port", itoa(freeUDPPort(t)), "+clientport", itoa(busy),
		"+tv_port", itoa(freeUDPPort(t)), "-steamport", itoa(freeUDPPort(t) - 1)}

	s := startStandin(t, writeCfgs(t, nil), nil, append(base, "-strictportbind")...)
	if code := s.wait(t); code != 100 {
		t.Errorf("strict: exit status %d, want 100", code)
	}
	if want := "ERROR: Port " + itoa(busy) + ` was unavailable - quitting due to "-strictportbind" command-line flag!`; s.seen[len(s.seen)-1] != want {
		t.Errorf("strict: last line %q, want %q", s.seen[len(s.seen)-1], want)
	}

	dir := writeCfgs(t, nil)
	s = startStandin(t, dir, nil, base...)
	s.waitLine(t, "WARNING: UDP_OpenSocket: unable to bind socket")
	s.waitLine(t, "standin: listening on udp ")
	s.waitLine(t, "standin: report ")
	if p := readReport(t, dir).Ports["client"]; p >= busy && p < busy+portTryMax || p == 0 {
		t.Errorf("client port %d, want any port outside %d..%d", p, busy, busy+portTryMax-1)
	}
}

// The CS:GO source: -strictportbind does not exist, a busy port moves
// without a word, and SourceTV without a port ends the process with
// status 0 (Plat_ExitProcess(0)).
func TestStandinCSGO(t *testing.T) {
	env := []string{"STANDIN_NET=csgo"}
	client := holdPorts(t, 1)
	dir := writeCfgs(t, nil)
	s := startStandin(t, dir, env, "-game", "left4dead2", "-strictportbind", "-port", itoa(freeUDPPort(t)), "+clientport", itoa(client),
		"+tv_port", itoa(freeUDPPort(t)), "-steamport", itoa(freeUDPPort(t)-1))
	s.waitLine(t, "standin: listening on udp ")
	s.waitLine(t, "standin: report ")
	if p := readReport(t, dir).Ports["client"]; p == client || p == 0 {
		t.Errorf("client port %d; want it moved from %d", p, client)
	}
	for _, l := range s.seen {
		if strings.HasPrefix(l, "WARNING") || strings.HasPrefix(l, "ERROR") {
			t.Errorf("printed %q", l)
		}
	}

	tv := holdPorts(t, portTryMax)
	s = startStandin(t, writeCfgs(t, nil), env, "-game", "left4dead2", "-ip", "127.0.0.1", "-port", itoa(freeUDPPort(t)),
		"+clientport", itoa(freeUDPPort(t)), "+tv_port", itoa(tv), "-steamport", itoa(freeUDPPort(t)-1))
	if code := s.wait(t); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if got := strings.Join(s.seen[len(s.seen)-2:], "\n"); got != "WARNING: UDP_OpenSocket: unable to bind socket\nCouldn't allocate any hltv IP port, tried 1 addresses 127.0.0.1" {
		t.Errorf("last lines %q", got)
	}
}

// A busy Steam port moves the Steam library up (LinuxGSM's 26901–26910);
// -strictportbind is the engine's and does not stop it.
func TestStandinSteamMoves(t *testing.T) {
	steam := holdPorts(t, 1)
	dir := writeCfgs(t, nil)
	s := startStandin(t, dir, nil, "-game", "left4dead2", "-strictportbind", "-port", itoa(freeUDPPort(t)),
		"+clientport", itoa(freeUDPPort(t)), "+tv_port", itoa(freeUDPPort(t)), "-steamport", itoa(steam-1))
	s.waitLine(t, "standin: listening on udp ")
	s.waitLine(t, "standin: report ")
	if p := readReport(t, dir).Ports["steam"]; p <= steam || p >= steam+portTryMax {
		t.Errorf("steam port %d, want one of %d..%d", p, steam+1, steam+portTryMax-1)
	}
}

// The RCON listener: TCP on the game port. Another program listening
// there first costs the engine its RCON and nothing else: a warning, and
// it runs on (CSocketCreator::CreateListenSocket).
func TestStandinRCON(t *testing.T) {
	game := freeUDPPort(t)
	args := append([]string{"-game", "left4dead2", "-strictportbind", "-port", itoa(game)}, otherPorts(t)...)
	s := startStandin(t, writeCfgs(t, nil), nil, args...)
	s.waitLine(t, "standin: listening on udp ")
	if c, err := net.Dial("tcp4", "127.0.0.1:"+itoa(game)); err != nil {
		t.Errorf("no RCON listener on TCP %d: %v\n%s", game, err, strings.Join(s.seen, "\n"))
	} else {
		c.Close()
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.wait(t)

	squatter, err := net.Listen("tcp4", ":"+itoa(game))
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	s = startStandin(t, writeCfgs(t, nil), nil, args...)
	s.waitLine(t, "Socket bind failed: Address already in use.")
	s.waitLine(t, "standin: listening on udp ") // and runs on
}

func TestParseNetArgs(t *testing.T) {
	n, err := parseNetArgs(cmdline{"-port", "1", "-nohltv"})
	if err != nil || n != (netArgs{client: 27005, tv: 27020, noHLTV: true, steamPort: 26900}) {
		t.Errorf("defaults: %+v %v", n, err)
	}
	for _, bad := range [][]string{{"+clientport", "x"}, {"+tv_port", "0"}, {"-steamport", "65535"}} {
		if _, err := parseNetArgs(cmdline(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := parseNetMode("hl2"); err == nil {
		t.Error("STANDIN_NET=hl2 accepted")
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }
