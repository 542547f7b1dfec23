package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// consoleCommand runs one line typed into the server console, printing
// what srcds prints for it (Valve developer wiki, "Console command list"
// and "Status"; the dedicated server's console). It reports whether the
// server should quit.
func consoleCommand(out io.Writer, line string, s *server, a engineArgs) (quit bool) {
	cmd, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch strings.ToLower(cmd) {
	case "":
	case "say":
		// The dedicated server speaks as "Console".
		fmt.Fprintf(out, "Console: %s\n", strings.Trim(rest, `"`))
	case "status":
		status(out, s, a)
	case "quit", "exit":
		fmt.Fprintln(out, "standin: quitting on console quit")
		return true
	default:
		fmt.Fprintf(out, "Unknown command \"%s\"\n", cmd)
	}
	return false
}

// status prints the status block: hostname, version, address, map, the
// player counts and one line per player, as srcds's "status" does.
func status(out io.Writer, s *server, a engineArgs) {
	if s == nil {
		fmt.Fprintln(out, "hostname: (not listening yet)")
		return
	}
	bots := int(s.info.Bots)
	humans := int(s.info.Players) - bots
	var b strings.Builder
	fmt.Fprintf(&b, "hostname: %s\n", s.info.Name)
	fmt.Fprintf(&b, "version : %s 8779 secure\n", s.info.Version)
	ip := a.ip
	if ip == "" {
		ip = "0.0.0.0"
	}
	fmt.Fprintf(&b, "udp/ip  : %s:%d\n", ip, s.info.Port)
	fmt.Fprintf(&b, "os      : Linux Dedicated\n")
	fmt.Fprintf(&b, "map     : %s\n", s.info.Map)
	fmt.Fprintf(&b, "players : %d humans, %d bots (%d max)\n\n", humans, bots, s.info.MaxPlayers)
	fmt.Fprintf(&b, "# userid name uniqueid connected ping loss state rate adr\n")
	conn := time.Since(s.since).Round(time.Second)
	for i, n := range s.names {
		id := fmt.Sprintf("STEAM_1:0:%d", 1000+i)
		if i >= humans {
			id = "BOT"
		}
		fmt.Fprintf(&b, "# %d \"%s\" %s %02d:%02d 50 0 active 30000\n", i+2, n, id, int(conn.Minutes()), int(conn.Seconds())%60)
	}
	fmt.Fprintf(&b, "#end\n")
	io.WriteString(out, b.String())
}
