package units

import (
	"strings"
	"testing"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

// A running server's schedule removed from its spec: a timer of each
// removed kind that never elapses and stops once nothing wants it; none
// for a kind the spec still has.
func TestRetiredTimers(t *testing.T) {
	c := Config{Layout: layout.Layout{ConfigDir: "/etc/left4me", Root: "/var/lib/left4me"}}
	s, err := spec.Parse("s3.yaml", []byte("port: 27015\nschedule: {backup: daily}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := RetiredTimers(c, "s3", s)
	if len(got) != 1 {
		t.Fatalf("timers %v", got)
	}
	text := string(got["left4me-restart@s3.timer"])
	for _, want := range []string{"PartOf=l4d2@s3.service\nStopWhenUnneeded=yes\n", "[Timer]\nOnActiveSec=100y\n", "Description=Retired restart schedule"} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "OnCalendar") {
		t.Errorf("a retired timer with a calendar:\n%s", text)
	}
	if _, ok := Timers(c, "s3", s)["left4me-restart@s3.timer"]; ok {
		t.Error("the live timers hold the retired one")
	}
}
