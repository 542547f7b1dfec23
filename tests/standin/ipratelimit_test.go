package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// CIPRateLimit's per-address limit, query by query: the times are seconds
// since the engine started, the answers whether each query is answered.
func TestIPLimit(t *testing.T) {
	local, other := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	type q struct {
		at     float64 // seconds since the epoch
		from   netip.Addr
		answer bool
	}
	burst := func(n int, at float64, from netip.Addr, answer bool) []q {
		qs := make([]q, n)
		for i := range qs {
			qs[i] = q{at, from, answer}
		}
		return qs
	}
	cat := func(parts ...[]q) []q {
		var all []q
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	tests := []struct {
		name           string
		perSec, window float64
		queries        []q
	}{
		{"the defaults: 90 a window (90/30 = 3.0 is not above 3.0), the 91st dropped", 3, 30,
			cat(burst(90, 0, local, true), burst(5, 0.5, local, false))},
		{"the window is fixed at its first query: still closed 30 whole seconds on, open after 31", 3, 30,
			cat(burst(90, 0, local, true), []q{{0, local, false}, {30.99, local, false}, {31, local, true}}, burst(89, 31, local, true), []q{{31, local, false}})},
		{"answers do not move the window: it began at the first query", 0.2, 10,
			[]q{{0, local, true}, {10, local, true}, {11, local, true}, {12, local, true}, {13, local, false}, {21, local, false}, {22, local, true}}},
		{"dropped queries count: a flood keeps its address over the limit until the window ends", 1, 2,
			[]q{{0, local, true}, {0, local, true}, {0, local, false}, {1, local, false}, {2, local, false}, {3, local, true}}},
		{"each address has its own budget", 1, 2,
			[]q{{0, local, true}, {0, local, true}, {0, local, false}, {0, other, true}, {0, other, true}, {0, other, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			epoch := time.Unix(1_000_000, 0)
			l := newIPLimit(tc.perSec, tc.window, epoch)
			for i, q := range tc.queries {
				now := epoch.Add(time.Duration(q.at * float64(time.Second)))
				if got := l.allow(q.from, now); got != q.answer {
					t.Fatalf("query %d from %v at %.2fs: answered %v, want %v", i+1, q.from, q.at, got, q.answer)
				}
			}
		})
	}
}

// The per-address limit counts queries to a server that answers none
// (loading, hibernating), as CS:GO's check comes before; one it drops
// leaves the global limit's count alone.
func TestGateOrder(t *testing.T) {
	local := netip.MustParseAddr("127.0.0.1")
	now := time.Unix(1_000_000, 0)
	g := &gate{perIP: newIPLimit(1, 2, now), max: 1}
	g.closed.Store(true)
	for range 2 {
		if g.answer(local, now) {
			t.Fatal("a closed gate answered")
		}
	}
	g.closed.Store(false)
	if g.answer(local, now) {
		t.Error("answered past the per-address budget spent while closed")
	}
	if !g.answer(netip.MustParseAddr("127.0.0.2"), now) {
		t.Error("the global limit counted a query the per-address one dropped")
	}
}

func TestReadIPLimit(t *testing.T) {
	tests := []struct {
		env            map[string]string
		perSec, window float64
		bad            bool
	}{
		{env: nil, perSec: 3, window: 30},
		{env: map[string]string{"STANDIN_MAX_QUERIES_PER_IP": "0"}, perSec: 0, window: 30},
		{env: map[string]string{"STANDIN_MAX_QUERIES_PER_IP": "10", "STANDIN_MAX_QUERIES_WINDOW": "2"}, perSec: 10, window: 2},
		{env: map[string]string{"STANDIN_MAX_QUERIES_PER_IP": "0.5"}, perSec: 0.5, window: 30},
		{env: map[string]string{"STANDIN_MAX_QUERIES_PER_IP": "-1"}, bad: true},
		{env: map[string]string{"STANDIN_MAX_QUERIES_PER_IP": "many"}, bad: true},
		{env: map[string]string{"STANDIN_MAX_QUERIES_WINDOW": "0"}, bad: true},
		{env: map[string]string{"STANDIN_MAX_QUERIES_WINDOW": "1.5"}, bad: true},
	}
	for _, tc := range tests {
		perSec, window, err := readIPLimit(func(k string) string { return tc.env[k] })
		if (err != nil) != tc.bad || !tc.bad && (perSec != tc.perSec || window != tc.window) {
			t.Errorf("%v: %v, %v, %v", tc.env, perSec, window, err)
		}
	}
	// On by default: the engine's values.
	m, err := readEngineMode(func(string) string { return "" })
	if err != nil || m.perIP != 3 || m.window != 30 {
		t.Errorf("default mode: %+v, %v", m, err)
	}
}

// Over the network: a query past the address's budget gets no answer at
// all (not a challenge, not an error), and the next window answers again.
// A query is two datagrams here, the request and its challenged repeat,
// and the engine counts both (Source 2013 passes either to Steam through
// the rate check).
func TestProcessSocketPerAddressLimit(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{perIP: newIPLimit(2, 1, time.Now())} // 2 datagrams a 1 s window
	s := &server{info: a2s.Info{Name: "limited", Map: "c1m1_hotel", MaxPlayers: 8}, gate: g, conn: conn}
	runFrames(t, s, 10*time.Millisecond)
	addr := conn.LocalAddr().String()
	query := func(limit time.Duration) (a2s.Info, error) {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		return a2s.Query(ctx, addr)
	}
	if info, err := query(2 * time.Second); err != nil || info.Name != "limited" {
		t.Fatalf("first query: %+v, %v", info, err)
	}
	start := time.Now()
	if info, err := query(300 * time.Millisecond); !errors.Is(err, a2s.ErrNoReply) {
		t.Fatalf("over the budget: %+v, %v; want no reply", info, err)
	}
	// The window began with the first query; it ends after more than
	// window whole seconds: within 3 s.
	for {
		if _, err := query(300 * time.Millisecond); err == nil {
			break
		}
		if time.Since(start) > 4*time.Second {
			t.Fatal("no answer once the window moved on")
		}
	}
}
