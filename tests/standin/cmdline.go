package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// cmdline is the engine's command line, argv without the program name,
// searched the way tier0's CCommandLine does (Source engine
// tier0/commandline.cpp, as published in nillerusr/source-engine):
// FindParm compares case-insensitively and returns the FIRST match, and
// ParmValue returns the word after it unless that word starts with '-' or
// '+' (then "probably another cmdline parameter", so the default).
type cmdline []string

func (c cmdline) find(parm string) int {
	for i, p := range c {
		if strings.EqualFold(p, parm) {
			return i
		}
	}
	return -1
}

func (c cmdline) has(parm string) bool { return c.find(parm) >= 0 }

func (c cmdline) value(parm string) (string, bool) {
	i := c.find(parm)
	if i < 0 || i+1 == len(c) || strings.HasPrefix(c[i+1], "-") || strings.HasPrefix(c[i+1], "+") {
		return "", false
	}
	return c[i+1], true
}

// stuffcmds returns the console commands the engine runs from the +options,
// in order, like the engine's stuffcmds (engine/cmd.cpp): a -option skips
// the word after it when ParmValue finds one; a +option becomes the command
// "option VALUE" with VALUE from ParmValue, which looks up the first
// occurrence of the option, so a repeated +option repeats the first value.
// Other words (file associations such as a .bsp) are ignored here.
func (c cmdline) stuffcmds() []string {
	var cmds []string
	for i := 0; i < len(c); i++ {
		p := c[i]
		switch {
		case strings.HasPrefix(p, "-"):
			if _, ok := c.value(p); ok {
				i++
			}
		case strings.HasPrefix(p, "+"):
			if v, ok := c.value(p); ok {
				cmds = append(cmds, p[1:]+" "+v)
				i++
			} else {
				cmds = append(cmds, p[1:])
			}
		}
	}
	return cmds
}

// engineArgs is what the stand-in takes from its command line.
type engineArgs struct {
	game     string // -game DIR
	ip       string // -ip, then the ip cvar (+ip); "" binds every address
	port     uint16 // -port (or +port), then the hostport cvar (+hostport)
	strict   bool   // -strictportbind
	mapName  string // the last map command (+map)
	hostname string // the hostname cvar after the +commands, "" if unset
	svLan    bool   // the sv_lan cvar (+sv_lan 1)
}

// defaultPort is PORT_SERVER, the hostport cvar's default.
const defaultPort = 27015

// parseEngineArgs reads the engine's options. The stand-in refuses values
// the engine would misread (it parses numbers with atoi and resolves names
// through DNS): a bad port or a non-IPv4 address is an error.
func parseEngineArgs(argv []string) (engineArgs, error) {
	c := cmdline(argv)
	a := engineArgs{port: defaultPort, strict: c.has("-strictportbind")}
	// dedicated/sys_ded.cpp: info.m_pInitialMod = ParmValue("-game", "hl2").
	a.game = "hl2"
	if v, ok := c.value("-game"); ok {
		a.game = v
	}
	// engine/net_ws.cpp NET_Init: hostport from -port, or "+port by
	// mistake"; the ip cvar from -ip, "overwritten by stuffcmds later".
	port, ok := c.value("-port")
	if !ok {
		port, ok = c.value("+port")
	}
	if ok {
		p, err := parsePort(port)
		if err != nil {
			return engineArgs{}, fmt.Errorf("-port: %w", err)
		}
		a.port = p
	}
	if v, ok := c.value("-ip"); ok {
		a.ip = v
	}
	for _, line := range c.stuffcmds() {
		for _, cmd := range splitCommands(line) {
			if err := a.apply(cmd); err != nil {
				return engineArgs{}, err
			}
		}
	}
	if a.ip == "localhost" {
		a.ip = "" // NET_OpenSocket: "" and "localhost" mean INADDR_ANY
	}
	if a.ip != "" {
		// NET_StringToSockaddr drops a trailing :port.
		host, _, _ := strings.Cut(a.ip, ":")
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
			return engineArgs{}, fmt.Errorf("ip %q: the stand-in takes a dotted IPv4 address only", a.ip)
		}
		a.ip = host
	}
	return a, nil
}

// apply runs one console command the stand-in understands; the others are
// ignored. Names are case-insensitive. A cvar takes the whole rest of the
// line, less surrounding quotes (CCvarUtilities::IsCommand: "we don't want
// the tokenized list, send down the entire string"); map takes its first
// word.
func (a *engineArgs) apply(cmd string) error {
	words := fields(cmd)
	if len(words) < 2 {
		return nil
	}
	rest := strings.TrimSpace(cmd[strings.Index(cmd, words[0])+len(words[0]):])
	if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
		rest = rest[1 : len(rest)-1]
	}
	switch strings.ToLower(words[0]) {
	case "map":
		a.mapName = words[1]
	case "hostname":
		a.hostname = rest
	case "sv_lan":
		n, _ := strconv.Atoi(rest) // a bool cvar: any non-zero number
		a.svLan = n != 0
	case "ip":
		a.ip = rest
	case "hostport":
		p, err := parsePort(rest)
		if err != nil {
			return fmt.Errorf("hostport: %w", err)
		}
		a.port = p
	}
	return nil
}

func parsePort(s string) (uint16, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("%q is not a port 1-65535 (the stand-in refuses what srcds would read with atoi)", s)
	}
	return uint16(p), nil
}
