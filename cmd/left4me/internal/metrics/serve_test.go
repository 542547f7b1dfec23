package metrics

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/syncbuf"
)

// served is a Server on a port of its own, as left4me-metrics.socket
// passes it one.
type served struct {
	addr string
	log  *syncbuf.Buffer
	stop func() error // ends Serve and returns what it returned
}

func serve(t *testing.T, s Server) served {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &syncbuf.Buffer{}
	s.Log = log
	if s.Gather == nil {
		s.Gather = func(_ context.Context, w io.Writer) error { return Write(w, snap) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	ret := make(chan error, 1)
	go func() { ret <- s.Serve(ctx, ln) }()
	stop := sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-ret:
			return err
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after its context ended")
			return nil
		}
	})
	t.Cleanup(func() { _ = stop() })
	return served{addr: ln.Addr().String(), log: log, stop: stop}
}

func limits(mod func(*Limits)) Limits {
	l := DefaultLimits()
	l.Idle = 0
	mod(&l)
	return l
}

// ask sends req and reads the answer up to the server's close.
func ask(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%.80q: %v", req, err)
	}
	return string(b)
}

// hold opens n connections that send nothing.
func hold(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var cs []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		cs = append(cs, c)
	}
	return cs
}

// closedByServer waits for the server to end c (EOF or a reset).
func closedByServer(c net.Conn, within time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(within))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !isTimeout(err)
}

func TestServeAnswers(t *testing.T) {
	sv := serve(t, Server{Limits: limits(func(*Limits) {})})
	for _, tc := range []struct{ req, want string }{
		{"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8"},
		{"GET /metrics?x=1 HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
		{"GET / HTTP/1.1\r\n\r\n", "HTTP/1.0 404 Not Found"},
		{"POST /metrics HTTP/1.1\r\n\r\n", "HTTP/1.0 400 Bad Request"},
		{"\x16\x03\x01 garbage\r\n\r\n", "HTTP/1.0 400 Bad Request"},
	} {
		got := ask(t, sv.addr, tc.req)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%q: got %.80q", tc.req, got)
		}
		if strings.HasPrefix(tc.want, "HTTP/1.0 200") && !strings.Contains(got, `l4d2_up{instance="srv1"} 1`) {
			t.Errorf("%q: no metrics in %.200q", tc.req, got)
		}
	}
	if err := sv.stop(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// The operator review: a local user holds idle connections, as many as
// the limit. Prometheus is answered all the same; the idle ones end, said
// at notice level as the client's doing, and the exporter serves on.
func TestServeIdleHoldersDoNotBlock(t *testing.T) {
	for _, tc := range []struct {
		name    string
		request time.Duration
		held    int
	}{
		{"as many as the limit, ended by the request timeout", 300 * time.Millisecond, 4},
		{"more than the limit, the oldest make room", time.Hour, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv := serve(t, Server{Limits: limits(func(l *Limits) { l.MaxConns, l.Request = 4, tc.request })})
			idle := hold(t, sv.addr, tc.held)
			time.Sleep(50 * time.Millisecond) // all accepted
			if got := ask(t, sv.addr, "GET /metrics HTTP/1.1\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.0 200 OK") {
				t.Fatalf("a scrape while %d connections idle: %q", tc.held, got)
			}
			if !closedByServer(idle[0], 2*time.Second) {
				t.Error("the oldest idle connection is still open")
			}
			// And again once the idle ones were dealt with.
			if got := ask(t, sv.addr, "GET /metrics HTTP/1.1\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.0 200 OK") {
				t.Fatalf("a second scrape: %q", got)
			}
			if err := sv.stop(); err != nil {
				t.Errorf("Serve: %v", err)
			}
			log := sv.log.String()
			if !strings.HasPrefix(log, "<5>metrics: a client's connection ended without metrics") || strings.Contains(log, "<3>") {
				t.Errorf("journal:\n%s", log)
			}
		})
	}
}

// Many idle or garbage clients: the journal gets a line at once and a sum
// per period, not a line each.
func TestServeJournalBounded(t *testing.T) {
	sv := serve(t, Server{Limits: limits(func(l *Limits) { l.Request, l.Report = 100*time.Millisecond, time.Hour })})
	for _, c := range hold(t, sv.addr, 10) {
		io.WriteString(c, "garbage\r\n")
	}
	idle := hold(t, sv.addr, 10)
	for _, c := range idle {
		closedByServer(c, 2*time.Second)
	}
	if err := sv.stop(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(sv.log.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "<5>") || !strings.HasPrefix(lines[1], "<5>") ||
		!strings.Contains(lines[1], "19 more time(s)") || !strings.Contains(lines[1], "no request within 100ms") || !strings.Contains(lines[1], "not an HTTP/1.x GET request") {
		t.Errorf("journal:\n%s", sv.log.String())
	}
}

// A flood of scrapes gathers once at a time, and shares the answers.
func TestServeGathersOnceAtATime(t *testing.T) {
	var running, most, total atomic.Int32
	gather := func(_ context.Context, w io.Writer) error {
		n := running.Add(1)
		defer running.Add(-1)
		total.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(200 * time.Millisecond)
		return Write(w, snap)
	}
	sv := serve(t, Server{Gather: gather, Limits: limits(func(*Limits) {})})
	const n = 30
	got := make(chan string, n)
	for range n {
		go func() { got <- ask(t, sv.addr, "GET /metrics HTTP/1.1\r\n\r\n") }()
	}
	for range n {
		if a := <-got; !strings.HasPrefix(a, "HTTP/1.0 200 OK") {
			t.Errorf("answer %q", a)
		}
	}
	if most.Load() != 1 || total.Load() > 3 {
		t.Errorf("%d gatherings for %d scrapes, %d at once", total.Load(), n, most.Load())
	}
}

// Without connections it ends by itself, cleanly: socket activation
// starts it again at the next one.
func TestServeIdleExit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := Server{Log: io.Discard, Gather: func(context.Context, io.Writer) error { return nil },
		Limits: limits(func(l *Limits) { l.Idle = 200 * time.Millisecond })}
	ret := make(chan error, 1)
	go func() { ret <- s.Serve(context.Background(), ln) }()
	select {
	case err := <-ret:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not end when idle")
	}
}
