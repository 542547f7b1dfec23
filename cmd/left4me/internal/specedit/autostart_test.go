package specedit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec"
)

// TestSetAutostartGolden flips autostart in each testdata/autostart/*.yaml
// both ways and compares with NAME.enable / NAME.disable (missing golden
// means "unchanged"). UPDATE_GOLDEN=1 rewrites the golden files.
func TestSetAutostartGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/autostart/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		for _, on := range []bool{true, false} {
			suffix := map[bool]string{true: ".enable", false: ".disable"}[on]
			t.Run(filepath.Base(in)+suffix, func(t *testing.T) {
				before, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				got, changed, err := SetAutostart(before, on)
				if err != nil {
					t.Fatal(err)
				}
				golden := strings.TrimSuffix(in, ".yaml") + suffix
				if os.Getenv("UPDATE_GOLDEN") == "1" {
					if changed {
						err = os.WriteFile(golden, got, 0o644)
					} else {
						err = os.Remove(golden)
						if os.IsNotExist(err) {
							err = nil
						}
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if os.IsNotExist(err) {
					want = before
				} else if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("got:\n%s\nwant:\n%s", got, want)
				}
				if changed == bytes.Equal(got, before) {
					t.Errorf("changed = %v but bytes equal = %v", changed, bytes.Equal(got, before))
				}
				s, err := spec.Parse(in, got)
				if err != nil {
					t.Fatalf("result does not parse: %v", err)
				}
				if s.Autostart != on {
					t.Errorf("autostart = %v, want %v", s.Autostart, on)
				}
				// Only the autostart line may differ: every other line is kept.
				if d := lineDiff(before, got); d > 1 {
					t.Errorf("%d lines differ", d)
				}
			})
		}
	}
}

// lineDiff counts the lines of a that are not in b, plus lines added.
func lineDiff(a, b []byte) int {
	// A final newline added to a file that lacked one is not a changed line.
	al := strings.Split(strings.TrimSuffix(string(a), "\n"), "\n")
	bl := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	seen := map[string]int{}
	for _, l := range bl {
		seen[l]++
	}
	n := 0
	for _, l := range al {
		if seen[l] > 0 {
			seen[l]--
		} else {
			n++
		}
	}
	if len(bl) > len(al) {
		n += len(bl) - len(al)
	}
	return n
}

func TestSetAutostartRefuses(t *testing.T) {
	cases := map[string]string{
		"flow mapping": "{port: 27001, autostart: false}\n",
		"tagged value": "port: 27001\nautostart: !!bool false\n",
		"quoted value": "port: 27001\nautostart: \"false\"\n",
		"not mapping":  "- port\n",
		"syntax":       "port: [\n",
		"no port":      "config: []\n",
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			if out, _, err := SetAutostart([]byte(src), true); err == nil {
				t.Fatalf("accepted, got %q", out)
			}
		})
	}
}

// A byte-order mark stays first; the edit is made after it.
func TestSetAutostartBOM(t *testing.T) {
	cases := []struct {
		name, src, want string
		on, changed     bool
	}{
		{"add", spec.BOM + "port: 27001\n", spec.BOM + "port: 27001\nautostart: true\n", true, true},
		{"flip", spec.BOM + "autostart: false\nport: 27001\n", spec.BOM + "autostart: true\nport: 27001\n", true, true},
		{"already", spec.BOM + "autostart: true\nport: 27001\n", spec.BOM + "autostart: true\nport: 27001\n", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, changed, err := SetAutostart([]byte(c.src), c.on)
			if err != nil || changed != c.changed || string(out) != c.want {
				t.Fatalf("%q %v %v, want %q %v", out, changed, err, c.want, c.changed)
			}
		})
	}
}
