package spec

import (
	"slices"
	"strings"
	"testing"
)

// Every key of the table is one the parser reads, and the keys the parser
// offers for an unknown one are the table's.
func TestKnownKeysParsed(t *testing.T) {
	wrap := map[string]func(line string) string{
		TopKeys:       func(l string) string { return "port: 27015\n" + l + "\n" },
		PortsKeys:     func(l string) string { return "port: 27015\nports:\n  " + l + "\n" },
		ResourcesKeys: func(l string) string { return "port: 27015\nresources:\n  " + l + "\n" },
		OverlayKeys:   func(l string) string { return "port: 27015\noverlays:\n  - " + l + "\n" },
		ScheduleKeys:  func(l string) string { return "port: 27015\nschedule:\n  " + l + "\n" },
		BackupsKeys:   func(l string) string { return "port: 27015\nbackups:\n  " + l + "\n" },
	}
	known := KnownKeys()
	if len(known) != len(wrap) {
		t.Fatalf("KnownKeys has %d mappings, the test %d", len(known), len(wrap))
	}
	for m, keys := range known {
		in, ok := wrap[m]
		if !ok {
			t.Fatalf("no way to test mapping %q", m)
		}
		for _, k := range keys {
			if m == TopKeys && k == "port" {
				continue // the wrapper's own line
			}
			_, err := Parse("x.yaml", []byte(in(k+": 1")))
			if err != nil && strings.Contains(err.Error(), "unknown key") {
				t.Errorf("%s %q: the parser does not know it: %v", m, k, err)
			}
		}
		_, err := Parse("x.yaml", []byte(in("no_such_key: 1")))
		want := "(allowed: " + strings.Join(keys, ", ") + ")"
		if err == nil || !strings.Contains(err.Error(), "unknown key") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: an unknown key: %v; want %s", m, err, want)
		}
		if slices.Contains(keys, "no_such_key") {
			t.Fatal("the probe key is a real one")
		}
	}
}
