package spec

import (
	"strings"
	"testing"
)

// Values of any tag are the spec author's text: a message quotes and cuts
// them (control characters escaped, at most maxQuoted runes), so no spec
// forges a line or drives a terminal through validate, the generator's log
// or a start plan (issue 26, item 8).
func TestRawValuesQuoted(t *testing.T) {
	long := strings.Repeat("9", 5000)
	for _, tc := range []struct{ spec, want string }{
		{"port: !!int \"1\\x1b]52;c;SGVsbG8=\\a\"\n", `f.yaml:1:7: port: "1\x1b]52;c;SGVsbG8=\a" is out of range 1..65535`},
		{"port: !!int \"2\\nf.yaml:9:9: forged\"\n", `port: "2\nf.yaml:9:9: forged" is out of range`},
		{"port: !!int \"" + long + "\"\n", `port: "` + strings.Repeat("9", 64) + `"... is out of range`},
		{"port: !!float \"1\\x1b[2J\"\n", `port: must be a whole number 1..65535, got float "1\x1b[2J"`},
		{"port: !!bool \"x\\ry\"\n", `got bool "x\ry"`},
		{"port: 27015\nautostart: !!int \"1\\x1b[0m\"\n", `autostart: must be true or false, got int "1\x1b[0m"`},
		{"port: 27015\nstart_timeout: !!float \"" + long + "\"\n", `got float "` + strings.Repeat("9", 64) + `"...`},
		{"port: 27015\nresources: {memory_max: !!int \"1\\x07G\"}\n", `resources.memory_max: "1\aG" is not a size`},
		{"port: 27015\nresources: {cpu_weight: !!binary \"AAEC\"}\n", `got binary AAEC`},
		// Plain values stay as they were.
		{"port: 99999\n", "f.yaml:1:7: port: 99999 is out of range 1..65535"},
		{"port: 1.5\n", "port: must be a whole number 1..65535, got float 1.5"},
	} {
		_, err := Parse("f.yaml", []byte(tc.spec))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.spec, err, tc.want)
			continue
		}
		checkMessage(t, err.Error())
	}
}

// checkMessage fails on a control character (but the newlines between
// problems) or an unbounded line in a message.
func checkMessage(t *testing.T, msg string) {
	t.Helper()
	for _, line := range strings.Split(msg, "\n") {
		if len(line) > 1024 {
			t.Fatalf("a message line of %d bytes: %.200q", len(line), line)
		}
		for i := 0; i < len(line); i++ {
			if line[i] < 0x20 && line[i] != '\t' || line[i] == 0x7f {
				t.Fatalf("control character %#x in message: %q", line[i], line)
			}
		}
	}
}
