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
