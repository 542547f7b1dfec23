package metrics

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

var snap = Snapshot{
	Instances: []Instance{
		{Name: "srv2"},                                // down: only l4d2_up
		{Name: "idle", Up: true},                      // up, silent to A2S (-nomaster, a query flood): nothing known
		{Name: "asleep", Up: true, Hibernating: true}, // its console said it hibernates: nobody on
		{Name: "srv1", Up: true, Answered: true, Players: 3, Bots: 4, MaxPlayers: 8,
			Map: "c2m1_highway\"} evil 1\n" + strings.Repeat("x", 200), Latency: 0.0012,
			Restarts: ptr[int64](2), MemoryBytes: ptr[int64](123456789), CPUSeconds: ptr(12.5),
			UpperBytes: ptr[int64](4096), LastBackup: ptr(1.7649e9)},
	},
	GameBuild:  "1234567",
	GameUpdate: ptr(1.7648e9),
}

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, snap); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`l4d2_up{instance="srv1"} 1`, `l4d2_up{instance="srv2"} 0`, `l4d2_up{instance="idle"} 1`,
		`l4d2_a2s_up{instance="srv1"} 1`, `l4d2_a2s_up{instance="idle"} 0`,
		`l4d2_hibernating{instance="asleep"} 1`, `l4d2_hibernating{instance="idle"} 0`, `l4d2_hibernating{instance="srv1"} 0`,
		`l4d2_players{instance="asleep"} 0`, `l4d2_bots{instance="asleep"} 0`,
		`l4d2_players{instance="srv1"} 3`, `l4d2_bots{instance="srv1"} 4`, `l4d2_max_players{instance="srv1"} 8`,
		`l4d2_restarts_total{instance="srv1"} 2`, `l4d2_memory_bytes{instance="srv1"} 1.23456789e+08`,
		`l4d2_cpu_seconds_total{instance="srv1"} 12.5`, `l4d2_upper_bytes{instance="srv1"} 4096`,
		`l4d2_game_build 1.234567e+06`, `l4d2_a2s_latency_seconds{instance="srv1"} 0.0012`,
		// The server's map name: escaped by the library, cut to 64 bytes.
		`l4d2_map_info{instance="srv1",map="c2m1_highway\"} evil 1\n` + strings.Repeat("x", 64-len("c2m1_highway\"} evil 1\n")) + `"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %s", want)
		}
	}
	if strings.Contains(out, `l4d2_players{instance="srv2"}`) || strings.Contains(out, `l4d2_players{instance="idle"}`) || strings.Contains(out, `l4d2_a2s_up{instance="srv2"}`) {
		t.Errorf("a server that did not answer has a player count:\n%s", out)
	}
	if strings.Contains(out, `l4d2_hibernating{instance="srv2"}`) || strings.Contains(out, `l4d2_max_players{instance="asleep"}`) || strings.Contains(out, `l4d2_map_info{instance="asleep"`) {
		t.Errorf("a stopped server's hibernation, or a hibernating one's slots or map, is written as known:\n%s", out)
	}
	// promtool (Debian's prometheus package; tests/deps.sh) agrees.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (tests/deps.sh installs it)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, msg, out)
	}
}
