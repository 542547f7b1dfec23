package main

import "strings"

// How steamcmd turns script text and its command line into commands and
// words. steamcmd's console is Valve's tier1 console: it echoes a convar
// set as `"@sSteamCmdForcePlatformType" = "linux"`, the ConVar format
// (output quoted in ValveSoftware/steam-for-linux#11522). Its source is
// not public; what follows imitates tier1 as published in
// ValveSoftware/source-sdk-2013 (mp/src/tier1/commandbuffer.cpp,
// convar.cpp, utlbuffer.cpp). That steamcmd uses these very functions is
// an inference from the echo format, not documented.

// breakSet is the default break set of CCommand::Tokenize: each of these
// characters, unquoted, is a word of its own (source-sdk-2013
// mp/src/tier1/convar.cpp, CCommand::CCommand: CharacterSetBuild(
// &s_BreakSet, "{}()':" )). So an unquoted `pa:ss` reaches login as the
// three words `pa`, `:`, `ss`, and the password is wrong.
const breakSet = "{}()':"

// maxCommand is COMMAND_MAX_LENGTH (tier1/convar.h): CCommand::Tokenize
// skips a command of maxCommand-1 bytes or more with the warning below.
const maxCommand = 512

const overflowWarning = "CCommand::Tokenize: Encountered command which overflows the tokenizer buffer.. Skipping!"

// splitCommands cuts text into commands like
// CCommandBuffer::GetNextCommandLength (tier1/commandbuffer.cpp): a
// command ends at `;` outside double quotes and at every newline (even a
// quoted one: "FIXME: This is legacy behavior"); `//` outside quotes,
// anywhere on the line, starts a comment that runs to the newline. Quote
// characters stay in the command text for the tokenizer.
func splitCommands(text string) []string {
	var out []string
	for text != "" {
		var cmd strings.Builder
		quoted, commented := false, false
		i := 0
		for ; i < len(text); i++ {
			c := text[i]
			if !commented {
				if c == '"' {
					quoted = !quoted
					cmd.WriteByte(c)
					continue
				}
				if !quoted && c == '/' && i+1 < len(text) && text[i+1] == '/' {
					commented = true
					i++
					continue
				}
				if !quoted && c == ';' {
					break
				}
			}
			if c == '\n' {
				break
			}
			if !commented {
				cmd.WriteByte(c)
			}
		}
		out = append(out, cmd.String())
		if i >= len(text) {
			break
		}
		text = text[i+1:]
	}
	return out
}

// tokenize splits one command into words like CUtlBuffer::ParseToken
// (tier1/utlbuffer.cpp) with the break set above:
//   - blanks separate words; a `//` where a word would start comments out
//     the rest of the line;
//   - a double quote where a word would start opens a quoted word that
//     keeps every character up to the next double quote (blanks, { } ( )
//     ' : / ;), or to the end when there is none; `""` is an empty word;
//   - an unquoted break character is a word by itself;
//   - an unquoted word ends before a break character, a double quote, or
//     any byte <= ' ' compared as a signed char: so every byte of UTF-8
//     (0x80..0xff, negative in the 32-bit x86 build) ends the word it is
//     in, and an unquoted non-ASCII word is cut into pieces.
func tokenize(cmd string) []string {
	var out []string
	i := 0
	for {
		for {
			for i < len(cmd) && isSpace(cmd[i]) {
				i++
			}
			if i+1 < len(cmd) && cmd[i] == '/' && cmd[i+1] == '/' {
				for i < len(cmd) && cmd[i] != '\n' {
					i++
				}
				continue
			}
			break
		}
		if i >= len(cmd) || cmd[i] == 0 {
			return out
		}
		c := cmd[i]
		i++
		switch {
		case c == '"':
			j := strings.IndexByte(cmd[i:], '"')
			if j < 0 {
				return append(out, cmd[i:])
			}
			out = append(out, cmd[i:i+j])
			i += j + 1
		case strings.IndexByte(breakSet, c) >= 0:
			out = append(out, string(c))
		default:
			start := i - 1
			for i < len(cmd) && strings.IndexByte(breakSet, cmd[i]) < 0 && cmd[i] != '"' && cmd[i] > ' ' && cmd[i] < 0x80 {
				i++
			}
			out = append(out, cmd[start:i])
		}
	}
}

// isSpace is C's isspace on an unsigned char.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// argvText turns the command line into the text of its +commands: each
// argument starting with "+" begins a command, the following ones are its
// arguments, and an argument containing a space is put in double quotes
// (as CCommand's argv constructor builds its ArgS, tier1/convar.cpp:
// "bool bContainsSpace = strchr( ppArgV[i], ' ' ) != NULL"). Nothing else
// is quoted: an argument with a tab, ; { } ( ) ' : or // is tokenized
// unquoted. Valve's `help commandline` says an argument with spaces
// "should themselves be wrapped in quotes" (quoted in
// ValveSoftware/steam-for-linux#5287). Arguments before the first
// +command are ignored.
func argvText(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "+") {
			out = append(out, strings.TrimPrefix(a, "+"))
			continue
		}
		if len(out) == 0 {
			continue
		}
		if strings.Contains(a, " ") {
			a = `"` + a + `"`
		}
		out[len(out)-1] += " " + a
	}
	return out
}
