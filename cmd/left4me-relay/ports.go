package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/left4me/left4me/cmd/internal/probe"
)

// ownsPort makes sure the server that is up is ours: the engine holds
// its game port. When another process has the port, an engine that
// ignores -strictportbind binds the next free one instead, silently
// (NET_OpenSocket, engine/net_ws.cpp, cstrike15_src; L4D2 has no such
// flag: Tsuey/L4D2-Community-Update#367), and the answers on the port
// come from the other process: not ready, and no watchdog fed by them.
// When /proc cannot tell, the start goes on as before.
func (l *life) ownsPort(addr string) error {
	if l.eng == nil || l.port == 0 {
		return nil
	}
	mine, others, err := probe.UDPPortOwners("/proc", l.eng.PID, l.port)
	switch {
	case err != nil, mine && len(others) == 0:
		return errors.Join(l.ownsRCON(), l.ownsOthers())
	case mine:
		// SO_REUSEADDR lets another process bind the port beside the
		// engine, and the probe's answers may be that one's.
		return fmt.Errorf("port %d is shared with another process%s: the engine (PID %d) holds a socket on it and so does someone else, so what answers on %s may not be this server; free port %d or give the instance another port", l.port, byWhom(others), l.eng.PID, addr, l.port)
	}
	return fmt.Errorf("port %d is taken by another process%s: what answers on %s is not this server, whose engine (PID %d) holds no socket on it (an engine that ignores -strictportbind binds the next free port instead, where no player finds it); free port %d or give the instance another port", l.port, byWhom(others), addr, l.eng.PID, l.port)
}

// rolePort is a UDP port the command line gives the engine besides the
// game port.
type rolePort struct {
	role string
	port uint16
}

// otherPorts are the client and SourceTV ports the engine's command line
// names (+clientport, +tv_port unless -nohltv): NET_OpenSockets binds
// them beside the game port (engine/net_ws.cpp). The Steam library's is
// left out: it is closed source, so where it binds is not checked.
func otherPorts(args []string) []rolePort {
	var out []rolePort
	noHLTV := false
	for _, a := range args {
		noHLTV = noHLTV || strings.EqualFold(a, "-nohltv")
	}
	for i := 0; i+1 < len(args); i++ {
		role := map[string]string{"+clientport": "client", "+tv_port": "SourceTV"}[strings.ToLower(args[i])]
		if role == "" || role == "SourceTV" && noHLTV || slices.ContainsFunc(out, func(r rolePort) bool { return r.role == role }) {
			continue // the first value counts, as the engine's ParmValue
		}
		if p, err := strconv.ParseUint(args[i+1], 10, 16); err == nil && p > 0 {
			out = append(out, rolePort{role, uint16(p)})
		}
	}
	return out
}

// ownsOthers makes sure the engine holds its client and SourceTV ports,
// alone: an engine that ignores -strictportbind moves a busy one to the
// next free port without a word, which may be another instance's, and
// whoever holds the port it was given gets its traffic (SourceTV's
// spectators).
func (l *life) ownsOthers() error {
	var errs []error
	for _, rp := range l.others {
		mine, others, err := probe.UDPPortOwners("/proc", l.eng.PID, rp.port)
		switch {
		case err != nil, mine && len(others) == 0:
		case mine:
			errs = append(errs, fmt.Errorf("%s port %d is shared with another process%s: free it or give the instance another port", rp.role, rp.port, byWhom(others)))
		default:
			errs = append(errs, fmt.Errorf("%s port %d is taken by another process%s: the engine (PID %d) holds no socket on it (an engine that ignores -strictportbind moves to the next free port, which may be another instance's); free port %d or give the instance other ports", rp.role, rp.port, byWhom(others), l.eng.PID, rp.port))
		}
	}
	return errors.Join(errs...)
}

// ownsRCON makes sure nobody else listens for RCON on the game port: a
// dedicated engine listens there on TCP (NET_Config: RCONServer()
// .CreateSocket() on net_local_adr and the server socket's port,
// engine/net_ws.cpp, Source 2013 and cstrike15_src), and when the bind
// fails it prints "Socket bind failed" and runs on without RCON
// (CSocketCreator::CreateListenSocket, engine/socketcreator.cpp). A
// process that got the port first, or listens on another address of it,
// would take the rcon_password of whoever administers this server. An
// engine with no listener where nobody else has one either is left be.
func (l *life) ownsRCON() error {
	mine, others, err := probe.TCPListenOwners("/proc", l.eng.PID, l.port)
	switch {
	case err != nil, len(others) == 0:
		return nil
	case mine:
		return fmt.Errorf("TCP port %d (RCON) is shared with another process%s: the engine (PID %d) listens on it and so does someone else, who would get the rcon_password of whoever administers this server; free port %d or give the instance another port", l.port, byWhom(others), l.eng.PID, l.port)
	}
	return fmt.Errorf("TCP port %d (RCON) is taken by another process%s: the engine (PID %d) could not listen on it, and whoever does gets the rcon_password of anyone who administers this server; free port %d or give the instance another port", l.port, byWhom(others), l.eng.PID, l.port)
}

// byWhom is " (who holds it)" for the error, or "" when /proc showed
// nobody on the port.
func byWhom(uids []int) string {
	if len(uids) == 0 {
		return ""
	}
	return " (" + probe.Owners(uids) + ")"
}
