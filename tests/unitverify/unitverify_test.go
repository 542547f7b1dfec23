package unitverify

import (
	"slices"
	"testing"
)

// Only lines naming one of ours are judged: a host's own broken unit must
// not fail our tests, ours must.
func TestAbout(t *testing.T) {
	out := "/usr/lib/systemd/system/foo.service:3: Unknown key name 'Bar' in section 'Service', ignoring.\n" +
		"/tmp/x/l4d2@srv1.service:12: Unknown key name 'Nope' in section 'Service', ignoring.\n" +
		"/tmp/x/left4me-metrics.socket:4: Unknown key name 'Nope' in section 'Socket', ignoring.\n"
	for _, tc := range []struct {
		ours []string
		want []string
	}{
		{nil, nil},
		{[]string{"left4me-"}, []string{"/tmp/x/left4me-metrics.socket:4: Unknown key name 'Nope' in section 'Socket', ignoring."}},
		{[]string{"l4d2", "left4me-"}, []string{
			"/tmp/x/l4d2@srv1.service:12: Unknown key name 'Nope' in section 'Service', ignoring.",
			"/tmp/x/left4me-metrics.socket:4: Unknown key name 'Nope' in section 'Socket', ignoring.",
		}},
		{[]string{"elsewhere"}, nil},
	} {
		if got := About(out, tc.ours); !slices.Equal(got, tc.want) {
			t.Errorf("About(%q) = %q, want %q", tc.ours, got, tc.want)
		}
	}
}
