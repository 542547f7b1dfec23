package web

import (
	"strings"
	"testing"
	"time"
)

// count is how many times the panel ran verb.
func (f *fakeCLI) count(verb string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.runs {
		if r[0] == verb {
			n++
		}
	}
	return n
}

// TestLiveRefreshShared: the pages' live refreshes share one gathering of
// the instances for liveFor, however many pages and users ask: each asks
// every running server three A2S queries from 127.0.0.1, and the engine
// answers one address only 3 a second (sv_max_queries_sec). A full page
// still asks afresh. What each user may read stays theirs.
func TestLiveRefreshShared(t *testing.T) {
	p := newPanel(t)
	paths := []string{"/fragment/instances", "/i/srv1/live", "/fragment/instances", "/i/bad/live"}
	for i, user := range []string{"alice", "vic", "olga", "vic", "alice", "olga"} {
		_, body := p.do(t, user, "GET", paths[i%len(paths)], "", nil)
		if strings.Contains(body, "hunter2") != (user == "alice") {
			t.Errorf("%s as %s: the spec's message shown %v:\n%s", paths[i%len(paths)], user, user != "alice", body)
		}
	}
	if l, pl := p.cli.count("list"), p.cli.count("players"); l != 1 || pl != 1 {
		t.Errorf("six live refreshes ran list %d and players %d times, want once each", l, pl)
	}
	p.do(t, "vic", "GET", "/", "", nil)
	if l := p.cli.count("list"); l != 2 {
		t.Errorf("a full page ran list %d times in all, want 2", l)
	}
	// Older than liveFor: asked again.
	p.s.live.mu.Lock()
	p.s.live.at = time.Now().Add(-liveFor)
	p.s.live.mu.Unlock()
	p.do(t, "vic", "GET", "/fragment/instances", "", nil)
	if l, pl := p.cli.count("list"), p.cli.count("players"); l != 3 || pl != 3 {
		t.Errorf("a refresh after liveFor: list %d, players %d, want 3 each", l, pl)
	}
}
