package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// Every socket the engine and the Steam library open, as published in the
// engine's relatives: Source SDK 2013 (nillerusr/source-engine, the
// "source2013" mode) and the CS:GO source (perilouswithadollarsign/
// cstrike15_src, the "csgo" mode), engine/net_ws.cpp and
// engine/sv_steamauth.cpp. STANDIN_NET picks the mode; L4D2's own source
// is not published and sits between the two.

// Engine defaults (engine/net_ws.cpp, the cvars' defaults; PORT_CLIENT,
// PORT_HLTV) and the Steam library's (sv_steamauth.cpp: m_usPort = 26900,
// -steamport overrides it).
const (
	defaultClientPort = 27005
	defaultTVPort     = 27020
	defaultSteamPort  = 26900
)

// netMode is how the engine treats a port it cannot get.
type netMode string

const (
	// modeSource2013: NET_OpenSocket honours -strictportbind (any socket
	// that had to move ends the process), and Sys_Exit, for that and for
	// a socket it cannot open at all, ends it with _exit(100)
	// (engine/sys_dll.cpp, Sys_Error_Internal).
	modeSource2013 netMode = "source2013"
	// modeCSGO: no -strictportbind (Tsuey/L4D2-Community-Update#367 asks
	// L4D2 for it): a busy port moves silently (ConDMsg, developer only),
	// and a socket it cannot open is a Warning then Plat_ExitProcess(0),
	// "a silent exit without writing a core dump": status 0.
	modeCSGO netMode = "csgo"
)

func parseNetMode(v string) (netMode, error) {
	switch netMode(v) {
	case "", modeSource2013:
		return modeSource2013, nil
	case modeCSGO:
		return modeCSGO, nil
	}
	return "", fmt.Errorf("STANDIN_NET: %q is neither %s nor %s", v, modeSource2013, modeCSGO)
}

// netArgs are the ports the command line asks for besides the game port.
type netArgs struct {
	client    uint16 // +clientport
	tv        uint16 // +tv_port
	noHLTV    bool   // -nohltv
	steamPort uint16 // -steamport; the Steam library binds it + 1
}

// parseNetArgs reads them. +clientport and +tv_port are cvars; the first
// value on the command line counts (ParmValue, as for every +cvar: see
// cmdline.stuffcmds), and ICvar::GetCommandLineValue gives it to a cvar
// before NET_Init opens the client socket. Values the engine would read
// with atoi are refused, as for -port.
func parseNetArgs(c cmdline) (netArgs, error) {
	n := netArgs{client: defaultClientPort, tv: defaultTVPort, steamPort: defaultSteamPort, noHLTV: c.has("-nohltv")}
	for _, p := range []struct {
		parm string
		to   *uint16
	}{{"+clientport", &n.client}, {"+tv_port", &n.tv}, {"-steamport", &n.steamPort}} {
		if v, ok := c.value(p.parm); ok {
			port, err := parsePort(v)
			if err != nil {
				return netArgs{}, fmt.Errorf("%s: %w", p.parm, err)
			}
			*p.to = port
		}
	}
	if n.steamPort == 65535 {
		return netArgs{}, fmt.Errorf("-steamport: 65535 leaves no port for Steam at -steamport + 1")
	}
	return n, nil
}

// sockets are the ones a running stand-in holds.
type sockets struct {
	server net.PacketConn
	others []net.PacketConn
	// ports: what each socket got ("server", "client", "hltv", "steam").
	ports map[string]uint16
	// rcon listens on TCP on the server socket's port; nil when its bind
	// failed. The stand-in accepts nobody: the RCON protocol is left out.
	rcon net.Listener
}

func (s *sockets) Close() {
	if s.server != nil {
		s.server.Close()
	}
	if s.rcon != nil {
		s.rcon.Close()
	}
	for _, c := range s.others {
		c.Close()
	}
}

// openSockets opens them in the engine's order: the client socket in
// NET_Init ("open client socket for masterserver"), then at the first map
// NET_OpenSockets opens the server socket and SourceTV's (unless
// -nohltv), and sv_steamauth.cpp's Activate starts the Steam library.
// The client socket binds clientIP, the others ip ("" for every address). Lines to print are
// returned with the sockets; a failure the engine does not survive is a
// *bindFailure, after the sockets opened so far are closed.
func openSockets(clientIP, ip string, game uint16, n netArgs, strict bool, mode netMode) (*sockets, []string, error) {
	s := &sockets{ports: map[string]uint16{}}
	var lines []string
	open := func(name string, port uint16, tryAny bool) error {
		on := ip
		if name == "client" {
			on = clientIP
		}
		conn, got, msgs, err := openSocketInternal(on, name, port, tryAny, strict, mode)
		lines = append(lines, msgs...)
		if err != nil {
			return err
		}
		if name == "server" {
			s.server = conn
		} else {
			s.others = append(s.others, conn)
		}
		s.ports[name] = got
		return nil
	}
	// OpenSocketInternal( NS_CLIENT, clientport, ..., bTryAny true ),
	// NS_SERVER with bTryAny false, NS_HLTV with bTryAny false.
	err := open("client", n.client, true)
	if err == nil {
		err = open("server", game, false)
	}
	if err == nil && !n.noHLTV {
		err = open("hltv", n.tv, false)
	}
	if err != nil {
		s.Close()
		var f *bindFailure
		if errors.As(err, &f) {
			f.lines = append(lines, f.lines...)
		}
		return nil, nil, err
	}
	// NET_Config, for a dedicated server, after NET_OpenSockets:
	// RCONServer().CreateSocket() listens on TCP on net_local_adr and the
	// server socket's port (engine/net_ws.cpp, Source 2013 and
	// cstrike15_src). A bind that fails is a Warning and the server runs
	// on without RCON (CSocketCreator::CreateListenSocket,
	// engine/socketcreator.cpp): whoever has the port gets the RCON
	// clients. net_local_adr is the host name's address; the stand-in
	// listens where its other sockets do.
	rcon, err := net.Listen("tcp4", net.JoinHostPort(ip, strconv.Itoa(int(s.ports["server"]))))
	if err != nil {
		text := err.Error()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			text = errnoText(errno)
		}
		lines = append(lines, "Socket bind failed: "+text+".")
	} else {
		s.rcon = rcon
	}
	conn, got, msgs := openSteam(ip, n.steamPort+1)
	lines = append(lines, msgs...)
	if conn != nil {
		s.others = append(s.others, conn)
		s.ports["steam"] = got
	}
	return s, lines, nil
}

// openSocketInternal is OpenSocketInternal: NET_OpenSocket on the port,
// then, for a bTryAny socket, once more on any port (PORT_ANY); a socket
// it cannot open ends the process.
func openSocketInternal(ip, name string, port uint16, tryAny, strict bool, mode netMode) (net.PacketConn, uint16, []string, error) {
	conn, got, lines, err := netOpenSocket(ip, port, strict, mode)
	if err != nil {
		return nil, 0, nil, err
	}
	if conn == nil && tryAny {
		var more []string
		conn, got, more = bindAny(ip, mode)
		lines = append(lines, more...)
	}
	if conn == nil {
		if mode == modeCSGO {
			where := ip
			if where == "" {
				where = "localhost" // the ip cvar's default, the one address tried
			}
			// Warning( "Couldn't allocate any %s IP port, tried %d
			// addresses %s", ... ) has no newline; Plat_ExitProcess(0).
			return nil, 0, nil, &bindFailure{code: 0, lines: append(lines,
				fmt.Sprintf("Couldn't allocate any %s IP port, tried 1 addresses %s", name, where))}
		}
		return nil, 0, nil, &bindFailure{code: 100, lines: append(lines, "Couldn't allocate any "+name+" IP port")}
	}
	return conn, got, lines, nil
}

// netOpenSocket is NET_OpenSocket's bind loop: port, then port+1 and so on
// while the port is in use, PORT_TRY_MAX ports at most. It returns no
// socket (and no error) where the engine's returns 0; an error is the
// Sys_Exit of -strictportbind (source2013 only).
func netOpenSocket(ip string, port uint16, strict bool, mode netMode) (net.PacketConn, uint16, []string, error) {
	strict = strict && mode == modeSource2013 // the CS:GO source has no such flag
	var lines []string
	off := 0
	for ; off < portTryMax; off++ {
		p := int(port) + off
		if p > 65535 {
			break // a short port wraps in the engine; the stand-in stops
		}
		conn, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err == nil {
			if off == 0 {
				return conn, uint16(p), lines, nil
			}
			if strict {
				conn.Close()
				return nil, 0, nil, strictExit(port)
			}
			if mode == modeSource2013 {
				lines = append(lines, fmt.Sprintf("WARNING: Port %d was unavailable - bound to port %d instead", port, p))
			}
			return conn, uint16(p), lines, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, 0, []string{bindWarning(err, mode)}, nil
		}
	}
	if strict {
		// port_offset == PORT_TRY_MAX with -strictportbind falls through
		// to the port_offset > 0 branch: the same Sys_Exit.
		return nil, 0, nil, strictExit(port)
	}
	return nil, 0, append(lines, "WARNING: UDP_OpenSocket: unable to bind socket"), nil
}

// bindAny is NET_OpenSocket with PORT_ANY: one bind, port 0.
func bindAny(ip string, mode netMode) (net.PacketConn, uint16, []string) {
	conn, err := net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, 0, []string{bindWarning(err, mode)}
	}
	return conn, uint16(conn.LocalAddr().(*net.UDPAddr).Port), nil
}

func strictExit(port uint16) error {
	return &bindFailure{code: 100, lines: []string{fmt.Sprintf(
		`ERROR: Port %d was unavailable - quitting due to "-strictportbind" command-line flag!`, port)}}
}

// bindWarning is the line NET_OpenSocket prints for a bind error other
// than EADDRINUSE ("NNET" is Source 2013's typo; the CS:GO source fixed it).
func bindWarning(err error, mode netMode) string {
	text := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		text = errnoText(errno)
	}
	if mode == modeCSGO {
		return "WARNING: NET_OpenSocket: bind: " + text
	}
	return "WARNING: NNET_OpenSocket: bind: " + text
}

// openSteam binds the Steam library's socket, -steamport + 1
// (sv_steamauth.cpp: "Steam lives on -steamport + 1"). The library is
// closed source; LinuxGSM's port table gives Steam 26901–26910 for a host
// of servers, so a busy port moves it up, ten ports at most, and without
// one the server runs without Steam, as sv_steamauth.cpp's warning says
// when SteamGameServer_Init fails. -strictportbind is the engine's and
// does not reach the library.
func openSteam(ip string, port uint16) (net.PacketConn, uint16, []string) {
	for off := range portTryMax {
		p := int(port) + off
		if p > 65535 {
			break
		}
		conn, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err == nil {
			return conn, uint16(p), nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, 0, []string{
		"*********************************************************",
		"*\tUnable to load Steam support library.*",
		"*\tThis server will operate in LAN mode only.*",
		"*********************************************************"}
}

// openPorts reads the port arguments and STANDIN_NET, then opens every
// socket (openSockets) for run.
func openPorts(argv []string, a engineArgs, getenv func(string) string) (*sockets, []string, error) {
	mode, err := parseNetMode(getenv("STANDIN_NET"))
	if err != nil {
		return nil, nil, err
	}
	n, err := parseNetArgs(cmdline(argv))
	if err != nil {
		return nil, nil, err
	}
	// NET_Init opens the client socket on the ip cvar as -ip set it; a
	// +ip comes with stuffcmds, later, and moves the other sockets only.
	clientIP := ""
	if v, ok := cmdline(argv).value("-ip"); ok && v != "localhost" {
		clientIP, _, _ = strings.Cut(v, ":")
	}
	s, lines, err := openSockets(clientIP, a.ip, a.port, n, a.strict, mode)
	return s, append([]string{"standin: sockets as in " + string(mode) + " (STANDIN_NET)"}, lines...), err
}
