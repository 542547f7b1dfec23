package relay

import (
	"fmt"
	"strings"
)

// How the engine reads a console line, which CheckCommand, Commands and
// Redact must read as it does: a line that looks like one command may
// run several.

// span is one command of a line, as line[start:end].
type span struct{ start, end int }

// engineCommands splits line into the commands the engine runs, as its
// command buffer does (CCommandBuffer::GetNextCommandLength, tier1/
// commandbuffer.cpp, Source 2013 and cstrike15_src): at each ';' outside
// double quotes; a "//" outside quotes makes the rest of the line a
// comment, which runs nothing.
func engineCommands(line string) []span {
	var out []span
	quoted, start := false, 0
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '/' && i+1 < len(line) && line[i+1] == '/':
			return append(out, span{start, i})
		case c == ';':
			out = append(out, span{start, i})
			start = i + 1
		}
	}
	return append(out, span{start, len(line)})
}

// breakSet ends a word of a command, and is a word of its own: CCommand's
// break set, "{}()':" (tier1/convar.cpp).
const breakSet = "{}()':"

// words splits cmd into its words as the engine tokenizes a command
// (CCommand::Tokenize, CUtlBuffer::ParseToken with that break set): after
// spaces, a quoted word whole (its quotes in the span), a break character
// alone, or the characters up to a space, a quote or a break character
// (so rcon_password"x" is two words).
func words(cmd string) []span {
	var out []span
	for i := 0; i < len(cmd); {
		switch c := cmd[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '"':
			end := strings.IndexByte(cmd[i+1:], '"')
			if end < 0 {
				return append(out, span{i, len(cmd)})
			}
			out = append(out, span{i, i + end + 2})
			i += end + 2
		case strings.IndexByte(breakSet, c) >= 0:
			out = append(out, span{i, i + 1})
			i++
		default:
			end := strings.IndexAny(cmd[i:], " \t\""+breakSet)
			if end < 0 {
				end = len(cmd) - i
			}
			out = append(out, span{i, i + end})
			i += end
		}
	}
	return out
}

// text is a word of cmd without its quotes.
func text(cmd string, w span) string {
	t := cmd[w.start:w.end]
	if strings.HasPrefix(t, `"`) {
		t = strings.TrimSuffix(t[1:], `"`)
	}
	return t
}

// argsAfter is what follows word w of cmd, without its surrounding
// spaces and one pair of quotes around it all: an alias's body, the
// command sm_rcon runs, a say's text (as CheckChatText strips it).
func argsAfter(cmd string, w span) string {
	rest := strings.Trim(cmd[w.end:], " \t")
	if len(rest) >= 2 && rest[0] == '"' && rest[len(rest)-1] == '"' {
		rest = rest[1 : len(rest)-1]
	}
	return rest
}

// quits names the command of line that would end the server: quit or
// exit as any of its commands, or in what an alias defined in it or
// SourceMod's sm_rcon would run, "" if none. depth bounds the nesting.
func quits(line string, depth int) string {
	for _, c := range engineCommands(line) {
		cmd := line[c.start:c.end]
		ws := words(cmd)
		if len(ws) == 0 {
			continue
		}
		var inner string
		switch v := strings.ToLower(text(cmd, ws[0])); {
		case v == "quit" || v == "exit":
			return v
		case v == "alias" && len(ws) >= 3:
			inner = argsAfter(cmd, ws[1])
		case v == "sm_rcon" && len(ws) >= 2:
			inner = argsAfter(cmd, ws[0])
		default:
			continue
		}
		if depth > 0 {
			if q := quits(inner, depth-1); q != "" {
				return q
			}
		}
	}
	return ""
}

// maxSay is how much of a say players read: the game's CheckChatText
// (game/server/client.cpp, Source SDK 2013) cuts the text at its 127th
// byte, counting the opening quote it then strips with the last byte.
const maxSay = 126

// sayLines types message as says of at most maxSay bytes each, split
// between words (players read them in order). Each is quoted, so that a
// ';' or "//" in it is text, not another command or a comment; a double
// quote cannot be typed within one, and is refused.
func sayLines(message string) ([]string, string) {
	if strings.ContainsRune(message, '"') {
		return nil, "contains a double quote, which would end the say's quoted text early: the server would run what follows as commands"
	}
	var lines []string
	line := ""
	for _, w := range strings.Fields(message) {
		if len(w) > maxSay {
			return nil, fmt.Sprintf("has a word of %d bytes: players read %d bytes of a say", len(w), maxSay)
		}
		if line != "" && len(line)+1+len(w) > maxSay {
			lines = append(lines, `say "`+line+`"`)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line == "" {
		return nil, "says nothing"
	}
	return append(lines, `say "`+line+`"`), ""
}
