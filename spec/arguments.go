package spec

import (
	"net/netip"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The server is srcds_linux run directly, not through Valve's srcds_run:
// that script keeps its arguments in PARAMS=$* and starts the engine with
// `exec $HL_CMD` unquoted, so every argument with a space is split into
// words and every *, ? or [ is globbed against the installation. The unit
// does what srcds_run sets up instead (units.Command).

// launcherOwned says why an argument is the launcher's: one the unit
// passes itself or one that only srcds_run understands, which does not run.
// low is lower case: the engine's CommandLine()->FindParm ignores case.
func launcherOwned(low string) (string, bool) {
	switch low {
	case "-port", "+port", "-hostport":
		return "the port is the spec's port: key", true
	case "+hostport":
		return "the port is the spec's port: key (a second port would also hide the server from its readiness probe)", true
	case "+clientport", "-clientport":
		return "the client port is the spec's ports: client: key (or the default rule)", true
	case "+tv_port", "-tv_port", "-nohltv":
		return "SourceTV is the spec's ports: tv: key (a port, or off for -nohltv)", true
	case "-steamport":
		return "the Steam library's port is the spec's ports: steam: key (or the default rule)", true
	case "+sv_master_share_game_socket":
		// engine/sv_steamauth.cpp: at 0 the Steam library opens a second
		// socket, the master server updater's, on -steamport itself.
		return "left4me reserves one Steam port per instance; at 0 the Steam library would open a second one on -steamport, which may be another instance's", true
	case "-game":
		return "the unit always runs -game left4dead2", true
	case "-strictportbind":
		return "the unit always passes it, so a busy port fails the start instead of moving the server", true
	case "-reuse":
		// engine/net_ws.cpp NET_OpenSocket (Source 2013, CS:GO): SO_REUSEADDR
		// on every UDP socket, and then any local user may bind
		// 127.0.0.1:PORT beside the server's 0.0.0.0:PORT and answer the
		// queries left4me and the relay ask there.
		return "it lets another process bind the server's ports beside it (SO_REUSEADDR) and answer its queries", true
	case "-norestart":
		return "systemd restarts the server (Restart=on-failure)", true
	case "-fork":
		return "one instance is one server; create more instances instead", true
	case "-debug":
		return "a srcds_run option; srcds_run is not used (journalctl -u l4d2@NAME has the output)", true
	case "-pidfile":
		return "a srcds_run option; systemd tracks the server's PID", true
	case "-binary":
		return "a srcds_run option; the unit runs srcds_linux", true
	case "-autoupdate", "-steam_dir", "-steamcmd_script", "-steamerr":
		return "a srcds_run option; update with `left4me game update`", true
	case "-timeout":
		return "a srcds_run option; systemd restarts the server (RestartSec=)", true
	case "-gdb", "-debuglog", "-notrap":
		return "a srcds_run option; srcds_run is not used", true
	case "-consolelog":
		return "a srcds_run option; the console output is in journalctl -u l4d2@NAME", true
	case "-ignoresigint":
		return "a srcds_run option; left4me stops the server by typing quit into its console, not by a signal", true
	}
	return "", false
}

// maxCmdLine is what the engine keeps of its command line: tier0's
// CCommandLine::CreateCmdLine joins argv, each item in double quotes, into
// a 2048-byte buffer and parses that again (Source SDK 2013,
// tier0/commandline.cpp), cutting off the rest.
const maxCmdLine = 2047

// fixedCmdLine bounds what the unit passes besides the spec's arguments
// (the path of srcds_linux, -game left4dead2 -strictportbind, the port
// set, +map c1m1_hotel), each quoted as the engine quotes it.
const fixedCmdLine = 320

// arguments checks the spec's argv items beyond each item's own text: what
// the launcher owns, an -ip that moves the listener, and what the engine's
// command-line parser could not carry.
func (p *parser) arguments(v *yaml.Node, s *Spec) []string {
	args := p.strings(v, "arguments", validArgument)
	if len(args) != len(v.Content) {
		return args // an item was refused already; positions would not match
	}
	total := fixedCmdLine
	for i, a := range args {
		item, field := v.Content[i], "arguments["+strconv.Itoa(i)+"]"
		total += len(a) + 3
		low := strings.ToLower(a)
		if why, owned := launcherOwned(low); owned {
			p.add(item, field, "%s is set by left4me: %s", a, why)
			continue
		}
		if words := strings.Fields(a); len(words) > 1 && (a[0] == '+' || a[0] == '-') {
			// Each item reaches the engine as one argv word (no srcds_run
			// to split it): "+map c2m1_highway" would be a command named
			// that, and the default +map would win.
			p.add(item, field, "%s is one argument with a space in it, which the engine takes as one word; write each word as its own item: [%s]", quoteCut(a), cut(strings.Join(words, ", ")))
			continue
		}
		if low == "+servercfgfile" || low == "-servercfgfile" {
			s.Warnings = append(s.Warnings, p.at(item, field, a+" makes the server skip the server.cfg left4me stages (config: and the overlays' exec lines); put those settings in config: instead"))
		}
		if strings.ContainsRune(a, '"') {
			p.add(item, field, "contains a double quote, which the engine's command line cannot carry (it quotes each argument itself); put console settings such as hostname \"...\" in config: instead")
			continue
		}
		if low == "-ip" || low == "+ip" {
			if i+1 >= len(args) {
				p.add(item, field, "%s needs an IPv4 address after it", a)
				continue
			}
			addr, err := netip.ParseAddr(args[i+1])
			if err != nil || !addr.Is4() {
				p.add(v.Content[i+1], "arguments["+strconv.Itoa(i+1)+"]", "%s takes an IPv4 address of this host (the engine binds only IPv4), got %q", a, args[i+1])
				continue
			}
			if s.IP.IsValid() && s.IP != addr {
				p.add(item, field, "a second, different listen address (%s, and %s before)", addr, s.IP)
				continue
			}
			s.IP = addr
		}
	}
	if total > maxCmdLine {
		p.add(v, "arguments", "the server's command line would be %d bytes; the engine keeps only %d (put console settings in config: instead)", total, maxCmdLine)
	}
	return args
}

// QueryAddr is where the server answers A2S queries: the address its -ip
// argument binds, or loopback when it listens on every address.
func (s *Spec) QueryAddr() string {
	ip := "127.0.0.1"
	if s.IP.IsValid() && !s.IP.IsUnspecified() {
		ip = s.IP.String()
	}
	return ip + ":" + strconv.Itoa(s.Port)
}

// cut bounds a suggestion built from the spec's own text.
func cut(s string) string {
	if r := []rune(s); len(r) > maxQuoted {
		return string(r[:maxQuoted]) + "..."
	}
	return s
}
