package commands

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/tests/syncbuf"
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

// Run by a user other than root, the upper layers and backups (root's)
// are left out, and it says so rather than leave an alert on a backup's
// age reading nothing (operator review).
func TestMetricsNotRootSaysWhatIsLeftOut(t *testing.T) {
	for _, euid := range []int{0, 1000} {
		te := newEnv(t)
		te.Euid = euid
		te.spec(t, "srv1", "port: 27015\n")
		if err := te.run("metrics"); err != nil {
			t.Fatal(err)
		}
		said := strings.Contains(te.err.String(), "not root: l4d2_upper_bytes and l4d2_backup_last_timestamp_seconds are left out")
		if said != (euid != 0) {
			t.Errorf("euid %d: stderr %q", euid, te.err)
		}
	}
}

// The exporter (left4me-metrics@.service): one process serves every
// connection; connections that send nothing keep no scrape out and end
// nobody's run with an error.
func TestMetricsHTTP(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	logs := &syncbuf.Buffer{}
	te.Stderr = logs
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ret := make(chan error, 1)
	go func() { ret <- Run(ctx, te.Env, []string{"left4me", "metrics", "--http", "--listen", "127.0.0.1:0"}) }()
	addr := ""
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, a, ok := strings.Cut(logs.String(), "serving on "); ok {
			addr, _, _ = strings.Cut(a, "\n")
		}
	}
	if addr == "" {
		t.Fatalf("not serving:\n%s", logs.String())
	}
	for range 70 { // more than it keeps open
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for _, tc := range []struct{ req, want string }{
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"},
		{"GET / HTTP/1.1\r\n\r\n", "HTTP/1.0 404 Not Found"},
		{"POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.0 400 Bad Request"},
		{"\x16\x03\x01 garbage\r\n", "HTTP/1.0 400 Bad Request"},
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.req)
		got, err := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(got), tc.want) || (strings.Contains(tc.want, "200") && !strings.Contains(string(got), `l4d2_up{instance="srv1"} 0`)) {
			t.Errorf("%q: got %.300q (%v)", tc.req, got, err)
		}
	}
	cancel()
	if err := <-ret; err != nil {
		t.Errorf("metrics --http: %v\n%s", err, logs.String())
	}
	if l := logs.String(); strings.Contains(l, "<3>") || !strings.Contains(l, "<5>metrics: a client's connection ended without metrics") {
		t.Errorf("journal:\n%s", l)
	}
}

// A server whose relay says its console said it hibernates has nobody on
// it: 0 players and bots, l4d2_hibernating 1, though it answers nothing;
// an answer with someone on says it woke.
func TestMetricsHibernating(t *testing.T) {
	for _, tc := range []struct {
		name  string
		info  a2s.Info
		err   error
		wants []string
		nots  []string
	}{
		{"silent", a2s.Info{}, errors.New("i/o timeout"),
			[]string{`l4d2_hibernating{instance="s"} 1`, `l4d2_players{instance="s"} 0`, `l4d2_bots{instance="s"} 0`, `l4d2_a2s_up{instance="s"} 0`},
			[]string{`l4d2_max_players{instance="s"}`, `l4d2_map_info{instance="s"`}},
		{"woke: an answer counts", a2s.Info{Players: 3, Bots: 1, MaxPlayers: 8, Map: "c1m1_hotel"}, nil,
			[]string{`l4d2_hibernating{instance="s"} 0`, `l4d2_players{instance="s"} 2`, `l4d2_bots{instance="s"} 1`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			withRuntime(t, te, "s")
			te.sd.set(clienv.UnitOf("s"), "active", "running")
			u := te.sd.units[clienv.UnitOf("s")]
			u.Status = probe.HibernatingStatus("")
			te.sd.units[clienv.UnitOf("s")] = u
			te.ServerInfo = func(context.Context, string) (a2s.Info, error) { return tc.info, tc.err }
			if err := te.run("metrics"); err != nil {
				t.Fatal(err)
			}
			out := te.out.String()
			for _, want := range tc.wants {
				if !strings.Contains(out, want) {
					t.Errorf("lacks %s:\n%s", want, out)
				}
			}
			for _, not := range tc.nots {
				if strings.Contains(out, not) {
					t.Errorf("has %s:\n%s", not, out)
				}
			}
		})
	}
}
