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

// verb is the name of the command cmd runs, as CCommandBuffer::ParseArgV0
// reads it (CUtlBuffer::ParseToken with that break set): after spaces, a
// quoted word whole, a break character alone, or the characters up to a
// space, a quote or a break character. Names are matched without regard
// to case (Q_stricmp in the engine's command lookup).
func verb(cmd string) string {
	s := strings.TrimLeft(cmd, " \t")
	switch {
	case s == "":
		return ""
	case s[0] == '"':
		w, _, _ := strings.Cut(s[1:], `"`)
		return strings.ToLower(w)
	case strings.IndexByte(breakSet, s[0]) >= 0:
		return s[:1]
	}
	end := strings.IndexAny(s, " \t\""+breakSet)
	if end < 0 {
		end = len(s)
	}
	return strings.ToLower(s[:end])
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
