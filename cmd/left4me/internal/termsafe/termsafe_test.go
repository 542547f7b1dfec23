package termsafe

import "testing"

func TestLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\twith tab":           "plain text\twith tab",
		"\x1b]52;c;aGk=\a":               `\x1b]52;c;aGk=\a`,
		"\x1b[2J\x1b[H":                  `\x1b[2J\x1b[H`,
		"done\rleft4me: build succeeded": `done\rleft4me: build succeeded`,
		"a\nb":                           `a\nb`,
		"caf\xc3\xa9 ✓":                  "café ✓",
		"bad \xff byte":                  `bad \xff byte`,
		"\u009b31m":                      `\u009b31m`,
		"rtl \u202e override":            `rtl \u202e override`,
	} {
		if got := Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
}
