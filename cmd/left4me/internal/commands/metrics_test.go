package commands

import (
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
)

func TestMetrics(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	withRuntime(t, te, "srv1")
	te.spec(t, "srv2", "port: 27016\n")
	te.sd.set(clienv.UnitOf("srv1"), "active", "running")
	// An orphan: its spec removed while it runs; it uses the host still.
	te.sd.units[clienv.UnitOf("orph")] = control.Unit{Name: clienv.UnitOf("orph"), LoadState: "loaded", ActiveState: "active", SubState: "running"}
	if err := te.run("backup", "srv1"); err != nil {
		t.Fatal(err)
	}
	te.out.Reset()
	if err := te.run("metrics"); err != nil {
		t.Fatal(err)
	}
	out := te.out.String()
	for _, want := range []string{`l4d2_up{instance="srv1"} 1`, `l4d2_up{instance="srv2"} 0`, `l4d2_up{instance="orph"} 1`, `l4d2_players{instance="srv1"} 2`,
		`l4d2_bots{instance="srv1"} 1`, `l4d2_map_info{instance="srv1",map="c1m1_hotel"} 1`, `l4d2_upper_bytes{instance="srv1"}`,
		`l4d2_backup_last_timestamp_seconds{instance="srv1"}`, "# TYPE l4d2_a2s_latency_seconds gauge"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %s:\n%s", want, out)
		}
	}
}

// The socket-activated exporter: one request on stdin, the answer on stdout.
func TestMetricsHTTP(t *testing.T) {
	for _, tc := range []struct{ req, want string }{
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"},
		{"GET / HTTP/1.1\r\n\r\n", "HTTP/1.0 404 Not Found"},
		{"POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.0 400 Bad Request"},
		{"\x16\x03\x01 garbage", "HTTP/1.0 400 Bad Request"},
	} {
		te := newEnv(t)
		te.spec(t, "srv1", "port: 27015\n")
		te.Stdin = strings.NewReader(tc.req)
		if err := te.run("metrics", "--http"); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(te.out.String(), tc.want) {
			t.Errorf("%q: got %q", tc.req, te.out.String())
		}
	}
}
