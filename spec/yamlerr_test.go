package spec

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Each message plainYAMLError matches is what yaml.v3 says for a mistake
// of that kind, and the rewrite then names the line it is on.
func TestYAMLMessages(t *testing.T) {
	cases := []struct {
		msg, input string
		line       int // where the plain message points
		plain      string
	}{
		{msgFlowSeq, "port: 27015\narguments: [+map, c1m1_hotel\nconfig: []\n", 2, "is not closed"},
		{msgFlowMap, "port: 27015\noverlays: [{path: a, alias: b]\n", 2, "is not closed"},
		{msgEndOfStream, "port: 27015\nconfig: ['hostname x]\n", 2, "quote opened on this line is not closed"},
		{msgKey, "overlays:\n  - a\n  - b\n c: d\n", 4, "indentation does not line up"},
		{msgMapValues, "port: 27015\n  autostart: true\nconfig: []\n", 2, "indentation does not line up"},
		{msgDash, "config:\n  - a\n  -b: c\n x\n", 4, "indentation does not line up"},
	}
	for _, c := range cases {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(c.input), &n)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("yaml.v3 no longer says %q for %q: %v", c.msg, c.input, err)
			continue
		}
		line, plain, ok := plainYAMLError([]byte(c.input), 1, err.Error())
		if !ok || line != c.line || !strings.Contains(plain, c.plain) {
			t.Errorf("%q: plain message %d %q %v, want line %d with %q", c.msg, line, plain, ok, c.line, c.plain)
		}
	}
}

// yaml.v3 quotes the spec's own text in some messages; what reaches the
// journal is cut and escaped (the fuzzer found a 1025-byte line).
func TestYAMLText(t *testing.T) {
	long := strings.Repeat("r", 1100)
	cases := []struct {
		name, input, want string
	}{
		{"long anchor", "port: *" + long + "\n", "f.yaml:1:7: unknown anchor '" + strings.Repeat("r", maxQuoted-1) + "..."},
		{"words kept", "port: *abc\n", "f.yaml:1:7: unknown anchor 'abc' referenced"},
		{"its use, not a longer name", "port: 1\narguments: [&abcd x]\nconfig: [*abcd, *abc]\n", "f.yaml:3:17: unknown anchor 'abc' referenced"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.input))
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("got %v, want the prefix %q", err, c.want)
			}
			checkMessage(t, err.Error())
		})
	}
	for in, want := range map[string]string{
		"a\x1b[31mb": `a\x1b[31mb`,
		"é\u200bz":   `é\u200bz`,
		"x\ufffdy":   `x\ufffdy`,
	} {
		if got := yamlText(in); got != want {
			t.Errorf("yamlText(%q) = %q, want %q", in, got, want)
		}
	}
}
