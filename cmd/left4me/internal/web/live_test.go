package web

import (
	"net/http"
	"net/url"
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

// TestLiveRefreshShared: the pages, their loads and live refreshes, share
// one gathering of the instances for liveFor, however many pages and
// users ask or reload: each asks every running server three A2S queries
// from 127.0.0.1, and the engine answers one address only 3 a second
// (sv_max_queries_sec). A page after an action, started or ended, asks
// afresh. What each user may read stays theirs.
func TestLiveRefreshShared(t *testing.T) {
	p := newPanel(t)
	paths := []string{"/fragment/instances", "/i/srv1/live", "/", "/i/bad/live", "/i/srv1", "/dayops"}
	for i, user := range []string{"alice", "vic", "olga", "vic", "alice", "olga", "vic", "alice"} {
		_, body := p.do(t, user, "GET", paths[i%len(paths)], "", nil)
		shows := map[string]bool{"/fragment/instances": true, "/": true, "/i/bad/live": true}[paths[i%len(paths)]] // bad's problem
		if shows && strings.Contains(body, "hunter2") != (user == "alice") || !shows && strings.Contains(body, "hunter2") {
			t.Errorf("%s as %s: the spec's message shown %v:\n%s", paths[i%len(paths)], user, user != "alice", body)
		}
	}
	if l, pl := p.cli.count("list"), p.cli.count("players"); l != 1 || pl != 1 {
		t.Errorf("eight pages and refreshes ran list %d and players %d times, want once each", l, pl)
	}
	// An action: the page it leads to is fresh, and so is the one after
	// it ended.
	if resp, _ := p.do(t, "olga", "POST", "/i/srv1/action", "ok", url.Values{"action": {"restart"}, "kick": {"on"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("restart: %d", resp.StatusCode)
	}
	p.do(t, "olga", "GET", "/i/srv1", "", nil)
	if l := p.cli.count("list"); l < 2 || l > 3 {
		t.Errorf("a page after an action: list ran %d times in all, want 2 or 3", l)
	}
	before := p.cli.count("list")
	p.do(t, "vic", "GET", "/", "", nil)
	if l := p.cli.count("list"); l != before {
		t.Errorf("a page right after: list ran %d times in all, want %d", l, before)
	}
	// Older than liveFor: asked again.
	p.s.live.mu.Lock()
	p.s.live.at = time.Now().Add(-liveFor)
	p.s.live.mu.Unlock()
	p.do(t, "vic", "GET", "/fragment/instances", "", nil)
	if l := p.cli.count("list"); l != before+1 {
		t.Errorf("a refresh after liveFor: list %d, want %d", l, before+1)
	}
}
