package spec

import (
	"strings"
	"testing"

	"github.com/left4me/left4me/spec/layout"
)

// FuzzParse: no input panics, and whatever parses is safe to use as paths,
// server.cfg lines and argv items.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"port: 27015\nautostart: true\narguments: [\"+map\", c1m1_hotel]\nconfig: ['hostname \"x\"']\noverlays:\n  - {path: comp, alias: o_1}\n  - workshop/maps\n",
		"port: 1\noverlays: [a/../b]\n",
		"port: &a 1\nautostart: *a\n",
		"port: 0x10\n",
		"port: 1\nconfig: [\"a\\nb\"]\n",
		"{port: 1, overlays: [{path: ., alias: ''}]}",
		"- a\n- b\n",
		"port: 1\n---\nport: 2\n",
		"port: !!int \"1\\x1b]52;c;SGVsbG8=\\a\"\n",
		"port: 1\nhang_timeout: !!float \"1\\nf.yaml:1:1: forged\"\n",
		"port: *" + strings.Repeat("r", 1100) + "\n", // yaml.v3 quotes it whole
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			if s != nil {
				t.Fatal("spec and error both returned")
			}
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			checkMessage(t, err.Error())
			return
		}
		if s.Port < 1 || s.Port > 65535 {
			t.Fatalf("port %d accepted", s.Port)
		}
		for _, o := range s.Overlays {
			if msg := layout.ValidateOverlayPath(o.Path); msg != "" {
				t.Fatalf("unsafe overlay path accepted: %q", o.Path)
			}
			if strings.HasPrefix(o.Path, "/") || strings.Contains("/"+o.Path+"/", "/../") {
				t.Fatalf("escaping overlay path accepted: %q", o.Path)
			}
			if o.Alias != "" && !layout.ValidWord(o.Alias) {
				t.Fatalf("alias %q accepted", o.Alias)
			}
		}
		for _, l := range append(append([]string{}, s.Config...), s.Arguments...) {
			if strings.ContainsAny(l, "\x00\n\r") {
				t.Fatalf("line with a control character accepted: %q", l)
			}
		}
	})
}
