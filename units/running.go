package units

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/left4me/left4me/spec"
)

// ErrNoAddress: a process's argv is not one Command made (no -port).
var ErrNoAddress = errors.New("no -port in the server's command line")

// RunningAddr is where a running server answers A2S queries, read back
// from its command line (the relay's, which carries the server's argv as
// Command made it at that start). A spec edited since may name another
// port: the CLI must ask the server where it listens, not where its spec
// says it would. The rules mirror spec.QueryAddr: the first -port, an -ip
// or +ip followed by an IPv4 address, loopback for every address.
func RunningAddr(argv []string) (string, error) {
	port, ip := 0, netip.Addr{}
	for i := 0; i+1 < len(argv); i++ {
		switch low := strings.ToLower(argv[i]); {
		case low == "-port" && port == 0:
			n, err := strconv.Atoi(argv[i+1])
			if err != nil || n < 1 || n > 65535 {
				return "", errors.Join(ErrNoAddress, errors.New("-port "+strconv.Quote(argv[i+1])))
			}
			port = n
		case (low == "-ip" || low == "+ip") && !ip.IsValid():
			if a, err := netip.ParseAddr(argv[i+1]); err == nil && a.Is4() {
				ip = a
			}
		}
	}
	if port == 0 {
		return "", ErrNoAddress
	}
	host := "127.0.0.1"
	if ip.IsValid() && !ip.IsUnspecified() {
		host = ip.String()
	}
	return host + ":" + strconv.Itoa(port), nil
}

// RunningPorts is the port set a running server was started with, read
// back from its command line as appendPorts wrote it: -port, +clientport,
// +tv_port or -nohltv, and -steamport (the Steam library binds one above).
// A command line without -port gives ErrNoAddress; a port missing from it
// stays 0.
func RunningPorts(argv []string) (spec.Ports, error) {
	var p spec.Ports
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 65535 {
			return 0
		}
		return n
	}
	for i := 0; i+1 < len(argv); i++ {
		switch strings.ToLower(argv[i]) {
		case "-port":
			if p.Game == 0 {
				p.Game = num(argv[i+1])
			}
		case "+clientport":
			if p.Client == 0 {
				p.Client = num(argv[i+1])
			}
		case "+tv_port":
			if p.TV == 0 {
				p.TV = num(argv[i+1])
			}
		case "-steamport":
			if p.Steam == 0 {
				if n := num(argv[i+1]); n > 0 {
					p.Steam = n + 1
				}
			}
		}
	}
	if p.Game == 0 {
		return p, ErrNoAddress
	}
	return p, nil
}
