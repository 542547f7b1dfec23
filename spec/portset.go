package spec

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// The engine opens more than its game port (NET_OpenSockets in
// engine/net_ws.cpp of both published relatives, Source SDK 2013 and the
// CS:GO source): a client socket (the clientport cvar, default 27005), a
// SourceTV socket (tv_port, default 27020, none with -nohltv), and the
// Steam library takes one more (engine/sv_steamauth.cpp: Steam lives on
// -steamport + 1, default 26900 + 1). Left at those defaults, a second
// server on the host finds them taken: the client socket moves, SourceTV
// on 27020 is another instance's game port, and with -strictportbind any
// move ends the process (LinuxGSM#639, dasisdormax/csgo-multiserver#9).
// So every instance gets a whole port set, passed on its command line.

// Offsets of the default rule: each port the spec does not give is the
// game port plus its offset (minus it, where plus would pass 65535). Game
// ports within 1000 of each other, such as 12 instances on 27015–27026 or
// 50 on 27100–27149, never share a port this way; ClaimPorts refuses
// whatever still collides.
const (
	ClientOffset = 1000
	TVOffset     = 2000
	SteamOffset  = 3000
)

// PortRole names one port of an instance's set.
type PortRole string

// The roles, in the order the set is shown.
const (
	RoleGame   PortRole = "game"
	RoleClient PortRole = "client"
	RoleTV     PortRole = "tv"
	RoleSteam  PortRole = "steam"
)

// Ports is every UDP port an instance's server binds.
type Ports struct {
	Game   int
	Client int // the clientport cvar (+clientport)
	TV     int // the tv_port cvar (+tv_port); 0 when SourceTV is off (-nohltv)
	// Steam is the port the Steam library binds; the unit passes
	// -steamport Steam-1, the library living on -steamport + 1.
	Steam int
}

// List is the set's ports with their roles, game first, SourceTV left
// out when off.
func (p Ports) List() []RolePort {
	out := []RolePort{{RoleGame, p.Game}, {RoleClient, p.Client}}
	if p.TV != 0 {
		out = append(out, RolePort{RoleTV, p.TV})
	}
	return append(out, RolePort{RoleSteam, p.Steam})
}

// Has reports whether port is one of the set's.
func (p Ports) Has(port int) bool {
	return port != 0 && (port == p.Game || port == p.Client || port == p.TV || port == p.Steam)
}

// String is the set as `list` and `status` show it, e.g.
// "27015 client 28015 tv 29015 steam 30015" ("tv off" without SourceTV).
func (p Ports) String() string {
	b := strconv.AppendInt(nil, int64(p.Game), 10)
	b = append(b, " client "...)
	b = strconv.AppendInt(b, int64(p.Client), 10)
	if p.TV == 0 {
		b = append(b, " tv off"...)
	} else {
		b = append(b, " tv "...)
		b = strconv.AppendInt(b, int64(p.TV), 10)
	}
	b = append(b, " steam "...)
	b = strconv.AppendInt(b, int64(p.Steam), 10)
	return string(b)
}

// RolePort is one port of a set.
type RolePort struct {
	Role PortRole
	Port int
}

// DefaultPort is the default rule: game plus offset, or minus it where
// plus would pass 65535.
func DefaultPort(game, offset int) int {
	if game+offset <= 65535 {
		return game + offset
	}
	return game - offset
}

// portSpec is what the spec says about the ports beyond port:, with
// where each value stands (line 0: not given, the default rule applies).
type portSpec struct {
	client, tv, steam int
	tvOff             bool
	pos               map[PortRole][2]int
}

// portSet reads the optional ports: mapping.
func (p *parser) portSet(v *yaml.Node) portSpec {
	ps := portSpec{pos: map[PortRole][2]int{}}
	if v.Kind != yaml.MappingNode {
		p.add(v, "ports", "must be a mapping such as {client: 28015, tv: 29015, steam: 30015}, got %s", describe(v))
		return ps
	}
	skip := p.duplicates(v, "ports.")
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if skip[i] {
			continue
		}
		field := "ports." + k.Value
		switch k.Value {
		case "client":
			ps.client = p.portValue(val, field, 1024)
			ps.pos[RoleClient] = [2]int{val.Line, val.Column}
		case "tv":
			if val.Kind == yaml.ScalarNode && (val.Value == "off" || (val.Tag == "!!bool" && val.Value == "false")) {
				ps.tvOff = true
				continue
			}
			ps.tv = p.portValue(val, field, 1024)
			ps.pos[RoleTV] = [2]int{val.Line, val.Column}
		case "steam":
			// -steamport is one below; it must be a port too.
			ps.steam = p.portValue(val, field, 1025)
			ps.pos[RoleSteam] = [2]int{val.Line, val.Column}
		default:
			p.unknownKey(k, field, KnownKeys()[PortsKeys])
		}
	}
	return ps
}

// portValue reads one port of ports:, min..65535.
func (p *parser) portValue(v *yaml.Node, field string, min int64) int {
	n, err := strconv.ParseInt(v.Value, 0, 64)
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || err != nil {
		p.add(v, field, "must be a whole number %d..65535, got %s", min, describe(v))
		return 0
	}
	if n < min || n > 65535 {
		p.add(v, field, "%d is out of range %d..65535 (the server runs unprivileged and cannot bind a port below 1024)", n, min)
		return 0
	}
	return int(n)
}

// resolvePorts applies the default rule and checks that the set's own
// ports are distinct.
func (p *parser) resolvePorts(s *Spec, ps portSpec) {
	set := Ports{Game: s.Port, Client: ps.client, TV: ps.tv, Steam: ps.steam}
	pos := map[PortRole][2]int{RoleGame: {s.portLine, s.portCol}}
	for role, at := range ps.pos {
		pos[role] = at
	}
	defaulted := map[PortRole]bool{}
	fill := func(role PortRole, port *int, offset int) {
		if *port == 0 {
			*port = DefaultPort(s.Port, offset)
			defaulted[role] = true
			pos[role] = pos[RoleGame]
		}
	}
	fill(RoleClient, &set.Client, ClientOffset)
	if !ps.tvOff {
		fill(RoleTV, &set.TV, TVOffset)
	}
	fill(RoleSteam, &set.Steam, SteamOffset)
	s.Ports, s.portPos, s.portDefault = set, pos, defaulted
	seen := map[int]PortRole{}
	for _, rp := range set.List() {
		if prev, dup := seen[rp.Port]; dup {
			at := pos[rp.Role]
			field := "ports." + string(rp.Role)
			if defaulted[rp.Role] {
				field = "port"
			}
			p.errs = append(p.errs, &Error{File: p.file, Line: at[0], Column: at[1], Field: field,
				Msg: "the " + string(rp.Role) + " port " + strconv.Itoa(rp.Port) + s.describeDefault(rp.Role) +
					" is also this instance's " + string(prev) + " port; give each port of the set its own number"})
			continue
		}
		seen[rp.Port] = rp.Role
	}
}

// describeDefault says how the rule chose the port of role, "" when the
// spec gave it.
func (s *Spec) describeDefault(role PortRole) string {
	if !s.portDefault[role] {
		return ""
	}
	off := map[PortRole]int{RoleClient: ClientOffset, RoleTV: TVOffset, RoleSteam: SteamOffset}[role]
	sign := "+"
	if DefaultPort(s.Port, off) < s.Port {
		sign = "-"
	}
	return " (port " + sign + " " + strconv.Itoa(off) + ", the default)"
}
