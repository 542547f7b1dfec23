package probe

import "testing"

// Only the status line of a server whose console said it hibernates reads
// as hibernating: not the relay's others, nor one whose map name (an
// answer's text, after the fixed words) says so.
func TestHibernating(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   bool
	}{
		{HibernatingStatus(""), true},
		{HibernatingStatus("frames running"), true},
		{"", false},
		{"answering A2S_INFO: 0/8 players, map hibernating: x", false},
		{"alive (frames running), not answering A2S_INFO", false},
		{"up, not answering A2S_INFO (hibernating or a query limit)", false},
		{"running with -nomaster (no A2S_INFO)", false},
		{"awake: its console said it woke from hibernation", false},
		{"unresponsive: no A2S_INFO answer, no console output, no frames", false},
	} {
		if got := Hibernating(tc.status); got != tc.want {
			t.Errorf("Hibernating(%q) = %v, want %v", tc.status, got, tc.want)
		}
	}
}
