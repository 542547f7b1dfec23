package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// consoleCommand runs one line typed into the server console, printing
// what srcds prints for it (Valve developer wiki, "Console command list"
// and "Status"; the dedicated server's console). It reports whether the
// server should quit.
func consoleCommand(out io.Writer, line string, s *server, a engineArgs) (quit bool) {
	for _, c := range splitCommands(line) {
		if runCommand(out, c, s, a) {
			return true
		}
	}
	return false
}

// splitCommands is the commands a line runs, as the engine's command
// buffer splits it (CCommandBuffer::GetNextCommandLength, tier1/
// commandbuffer.cpp, Source 2013): at a ';' outside double quotes, and
// not past a "//" outside them (a comment).
func splitCommands(line string) []string {
	var cmds []string
	quoted, start := false, 0
	for i := 0; i < len(line); i++ {
		if line[i] == '"' {
			quoted = !quoted
		} else if !quoted && line[i] == '/' && strings.HasPrefix(line[i:], "//") {
			return append(cmds, line[start:i])
		} else if !quoted && line[i] == ';' {
			cmds = append(cmds, line[start:i])
			start = i + 1
		}
	}
	return append(cmds, line[start:])
}

// commandName is a command's first word as CCommandBuffer::ParseArgV0
// reads it: a quoted string whole, else up to a space, a quote or one of
// CCommand's break characters "{}()':" (tier1/convar.cpp), which is a
// word by itself. The rest is its arguments.
func commandName(c string) (name, rest string) {
	c = strings.TrimLeft(c, " \t")
	switch {
	case c == "":
		return "", ""
	case c[0] == '"':
		name, rest, _ = strings.Cut(c[1:], `"`)
		return name, rest
	case strings.IndexByte("{}()':", c[0]) >= 0:
		return c[:1], c[1:]
	}
	end := strings.IndexAny(c, " \t\"{}()':")
	if end < 0 {
		return c, ""
	}
	return c[:end], c[end:]
}

// chatText is what players read of a say, as the game's CheckChatText
// (game/server/client.cpp, Source SDK 2013) makes it: a leading quote
// goes with the last character; then, if what is left is longer than
// 127, the text is cut at its 127th byte (the quote counted).
func chatText(text string) string {
	msg, cut := text, 127
	if strings.HasPrefix(text, `"`) && len(text) >= 2 {
		msg, cut = text[1:len(text)-1], 126
	}
	if len(msg) > 127 {
		msg = msg[:cut]
	}
	return msg
}

// runCommand runs one command of a line.
func runCommand(out io.Writer, c string, s *server, a engineArgs) (quit bool) {
	cmd, rest := commandName(c)
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(cmd) {
	case "":
	case "say":
		// The dedicated server speaks as "Console".
		fmt.Fprintf(out, "Console: %s\n", chatText(rest))
	case "echo":
		// Each argument and a space, then the newline (Cmd_Echo_f,
		// engine/cmd.cpp, Source 2013).
		for _, w := range strings.Fields(rest) {
			fmt.Fprintf(out, "%s ", w)
		}
		fmt.Fprintln(out)
	case "status":
		status(out, s, a)
	case "kickall":
		if s == nil || s.kicked.Swap(true) {
			break
		}
		s.left = time.Now()
		// Each human's disconnect is printed (engine/baseclient.cpp,
		// cstrike15_src: "Dropped %s from server: %s"; L4D prints none for
		// bots) with the reason KICKED_BY_CONSOLE (engine/host_cmd.cpp).
		for _, n := range s.names[:int(s.info.Players)-int(s.info.Bots)] {
			fmt.Fprintf(out, "Dropped %s from server: Kicked from server\n", n)
		}
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
	info, names := s.current()
	bots := int(info.Bots)
	humans := int(info.Players) - bots
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
	// Source 2013's count (Host_Status_f, engine/host_cmd.cpp), with the
	// hibernation state after it as the engines since L4D2's print it
	// (cstrike15_src's Host_Status_f: "(hibernating)"), then the lobby's
	// reservation as L4D and L4D2 print it: "(not hibernating) (reserved
	// 186000047cf0fd8)" or "(unreserved)" (a stock L4D2 2.2.4.3 server's
	// status before and after a reservation packet, in a published study
	// of the lobby protocol; an L4D2 2.1.5.5 one's in a status parser's
	// tests; an L4D server's, 0125/ahk-GameScript#36).
	state := "not hibernating"
	if s.hibernating.Load() {
		state = "hibernating"
	}
	reservation := "unreserved"
	if s.reserved() {
		reservation = fmt.Sprintf("reserved %x", s.cookie)
	}
	fmt.Fprintf(&b, "players : %d humans, %d bots (%d max) (%s) (%s)\n\n", humans, bots, s.info.MaxPlayers, state, reservation)
	fmt.Fprintf(&b, "# userid name uniqueid connected ping loss state rate adr\n")
	conn := time.Since(s.since).Round(time.Second)
	for i, n := range names {
		id := fmt.Sprintf("STEAM_1:0:%d", 1000+i)
		if i >= humans {
			id = "BOT"
		}
		fmt.Fprintf(&b, "# %d \"%s\" %s %02d:%02d 50 0 active 30000\n", i+2, n, id, int(conn.Minutes()), int(conn.Seconds())%60)
	}
	fmt.Fprintf(&b, "#end\n")
	io.WriteString(out, b.String())
}

// maxConsoleText is MAX_CONSOLE_TEXTLEN, the text console's line buffer
// (dedicated/console/textconsole.h, cstrike15_src). It keeps 254
// characters: CTextConsole::ReceiveStandardChar (textconsole.cpp) ignores
// a character once the line holds sizeof(m_szConsoleText) - 2.
const maxConsoleText = 256

// consoleInput reads the console when in is a terminal, the way the
// engine's Unix text console does (dedicated/console/TextConsoleUnix.cpp,
// cstrike15_src): it turns off the terminal's canonical mode and echo and
// reads a character at a time. The characters are handed to the frame
// loop (typed), which polls the console once per frame, so a busy or hung
// frame loop neither echoes nor runs what is typed. Only a terminal is
// read: the engine reads no console from a pipe or /dev/null.
func consoleInput(in *os.File) <-chan byte {
	fd := int(in.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil
	}
	t.Lflag &^= unix.ICANON | unix.ECHO
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	_ = unix.IoctlSetTermios(fd, unix.TCSETS, t)
	ch := make(chan byte, 1)
	go func() {
		defer close(ch)
		var b [1]byte
		for {
			if n, err := in.Read(b[:]); n == 0 || err != nil {
				return
			}
			ch <- b[0]
		}
	}()
	return ch
}

// lineEditor is the text console's line: it echoes each kept character
// itself, keeps only 0x20-0x7E (anything else is dropped silently), stops
// keeping characters when the 256-byte buffer is full (the rest of the
// line is lost) and hands the line over at a newline.
type lineEditor struct {
	line []byte
	echo io.Writer
}

// typed takes one character; at a newline it returns the command.
func (l *lineEditor) typed(c byte) (cmd string, done bool) {
	switch {
	case c == '\n' || c == '\r':
		_, _ = l.echo.Write([]byte{'\n'})
		cmd = strings.TrimSpace(string(l.line))
		l.line = l.line[:0]
		return cmd, true
	case c == 0x7f || c == '\b':
		if len(l.line) > 0 {
			l.line = l.line[:len(l.line)-1]
			_, _ = l.echo.Write([]byte("\b \b"))
		}
	case c >= 0x20 && c <= 0x7e && len(l.line) < maxConsoleText-2:
		l.line = append(l.line, c)
		_, _ = l.echo.Write([]byte{c})
	}
	return "", false
}
