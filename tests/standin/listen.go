package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
)

// portTryMax is PORT_TRY_MAX of the engine's NET_OpenSocket: "try binding
// socket to port, try next 10 is port is already used".
const portTryMax = 10

// bindFailure is a bind the engine does not survive: the lines it prints
// and its exit status.
type bindFailure struct {
	lines []string
	code  int
}

func (f *bindFailure) Error() string { return fmt.Sprint(f.lines) }

// bindServer opens the server's UDP socket as the engine's NET_OpenSocket
// does (engine/net_ws.cpp, as published in nillerusr/source-engine):
//
//   - on ip (every address when empty), port first, then port+1 and so on
//     while bind fails with EADDRINUSE, at most portTryMax ports;
//   - having moved, it warns "WARNING: Port %i was unavailable - bound to
//     port %i instead";
//   - with -strictportbind a busy port is fatal: Sys_Exit("ERROR: Port %i
//     was unavailable - quitting due to \"-strictportbind\" command-line
//     flag!") ("The server op wants to exit if the desired port was not
//     avialable");
//   - any other bind error, or ten busy ports, leaves no server socket and
//     OpenSocketInternal exits with "Couldn't allocate any server IP port".
//
// It returns the socket and the port it got.
func bindServer(ip string, port uint16, strict bool) (net.PacketConn, uint16, []string, error) {
	var warnings []string
	for off := range portTryMax {
		p := int(port) + off
		if p > 65535 {
			break
		}
		conn, err := net.ListenPacket("udp4", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err == nil {
			if off == 0 {
				return conn, uint16(p), warnings, nil
			}
			if strict {
				conn.Close()
				return nil, 0, nil, &bindFailure{code: 1, lines: []string{fmt.Sprintf(
					`ERROR: Port %d was unavailable - quitting due to "-strictportbind" command-line flag!`, port)}}
			}
			warnings = append(warnings, fmt.Sprintf("WARNING: Port %d was unavailable - bound to port %d instead", port, p))
			return conn, uint16(p), warnings, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			var errno syscall.Errno
			text := err.Error()
			if errors.As(err, &errno) {
				text = errnoText(errno)
			}
			return nil, 0, nil, &bindFailure{code: 1, lines: []string{
				"WARNING: NNET_OpenSocket: bind: " + text, // sic, the engine's typo
				"Couldn't allocate any server IP port"}}
		}
	}
	if strict {
		return nil, 0, nil, &bindFailure{code: 1, lines: []string{fmt.Sprintf(
			`ERROR: Port %d was unavailable - quitting due to "-strictportbind" command-line flag!`, port)}}
	}
	return nil, 0, nil, &bindFailure{code: 1, lines: []string{
		"WARNING: UDP_OpenSocket: unable to bind socket",
		"Couldn't allocate any server IP port"}}
}
