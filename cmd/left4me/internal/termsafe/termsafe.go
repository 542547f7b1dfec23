// Package termsafe makes text that others wrote (a builder's output,
// steamcmd's lines, names from specs) safe to print on an operator's
// terminal or into the journal: control characters are shown escaped, so
// no ESC sequence can drive the terminal (clear it, set the clipboard,
// retitle the window) and no CR or LF can forge a line.
package termsafe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s with every control character (C0 but TAB, DEL, C1),
// invalid UTF-8 byte and other non-graphic rune replaced by its Go escape
// (\x1b, \r, \u200e, ...). Plain text is returned unchanged.
func Line(s string) string {
	if plain(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case r == '\t' || (unicode.IsGraphic(r) && !unicode.Is(unicode.Bidi_Control, r)):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRuneToASCII(r) // '\x1b', '\u200e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}
