package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// An instance's actions are kept apart from the game's and the overlays'
// (an instance may be called "game"): an operator's cancel of instance
// "game" does not reach the admin's game update, nor does an operator's
// wait on instance "game" hold that update up.
func TestInstanceJobsApart(t *testing.T) {
	p := newPanel(t)
	inner := p.cli.run
	p.s.Run = func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if args[0] == "game" || args[0] == "stop" {
			<-ctx.Done() // a download, a wait for players
			return ctx.Err()
		}
		return inner(ctx, args, stdout, stderr)
	}
	if resp, body := p.do(t, "olga", "POST", "/i/game/action", "ok", url.Values{"action": {"stop"}, "when_empty": {"on"}, "deadline": {"24h"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator's stop of instance game: %d %s", resp.StatusCode, body)
	}
	if resp, body := p.do(t, "alice", "POST", "/game", "ok", url.Values{"action": {"update"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the game update beside it: %d %s", resp.StatusCode, body)
	}
	p.do(t, "olga", "POST", "/i/game/cancel", "ok", nil)
	time.Sleep(50 * time.Millisecond)
	for _, j := range p.s.jobsOf("game") {
		if j.Cancelled != "" || j.Done {
			t.Errorf("the game update was ended by %q: %+v", j.Cancelled, j)
		}
	}
	js := p.s.jobsOf(instanceKey("game"))
	if len(js) != 1 || js[0].Cancelled != "olga" {
		t.Errorf("instance game's stop: %+v", js)
	}
	p.do(t, "alice", "POST", "/game/cancel", "ok", nil)
}

// What a request carries (its path, a form value) never starts a journal
// line of its own: a decoded newline would pose as another user's action.
func TestJournalLinesNotForged(t *testing.T) {
	p := newPanel(t)
	p.s.Hosts = []string{strings.TrimPrefix(p.srv.URL, "http://")}
	forged := "web: user alice (admin): left4me delete srv1"
	req, _ := http.NewRequest("GET", p.srv.URL+"/x%0a"+url.PathEscape(forged), nil)
	req.Host = "elsewhere.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.do(t, "vic", "POST", "/i/x%0a"+url.PathEscape(forged)+"/action", "", nil)
	p.do(t, "olga", "POST", "/i/srv1/action", "ok", url.Values{"action": {"x\n" + forged}})
	n := 0
	for _, l := range strings.Split(p.log.String(), "\n") {
		if strings.HasPrefix(l, forged) {
			n++
		}
	}
	if n > 0 || !strings.Contains(p.log.String(), `\n`) {
		t.Errorf("%d forged lines in the journal:\n%s", n, p.log.String())
	}
}

// Console streams are bounded, per user and in all (each holds a client
// of a relay, which needs a descriptor for it); one whose session ends
// (logged out, the user removed) stops.
func TestStreamsBounded(t *testing.T) {
	p := newPanel(t)
	p.s.Attach = func(ctx context.Context, _ string, out io.Writer) error {
		io.WriteString(out, "attached\n")
		<-ctx.Done()
		return nil
	}
	open := func(user string) *http.Response {
		req, _ := http.NewRequest("GET", p.srv.URL+"/i/srv1/stream", nil)
		req.AddCookie(&http.Cookie{Name: cookieName, Value: p.sids[user]})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var held []*http.Response
	defer func() {
		for _, r := range held {
			r.Body.Close()
		}
	}()
	for range maxUserStreams {
		r := open("olga")
		held = append(held, r)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", len(held), r.StatusCode)
		}
	}
	r := open("olga")
	r.Body.Close()
	if r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("stream %d of one user: %d", maxUserStreams+1, r.StatusCode)
	}
	r = open("alice") // another user's first
	held = append(held, r)
	if r.StatusCode != http.StatusOK {
		t.Errorf("another user's stream: %d", r.StatusCode)
	}
	// Logged out: the stream ends within sessionCheck.
	p.store.Logout(p.sids["alice"])
	ended := make(chan error, 1)
	go func() { _, err := io.ReadAll(r.Body); ended <- err }()
	select {
	case <-ended:
	case <-time.After(sessionCheck + 3*time.Second):
		t.Error("a stream outlived its session")
	}
}

// Behind a reverse proxy that sends its upstream's Host (nginx's
// proxy_pass), a post from the panel's own address (--url) is the
// panel's; one from elsewhere is still refused.
func TestProxyOrigin(t *testing.T) {
	p := newPanel(t)
	up := strings.TrimPrefix(p.srv.URL, "http://")
	p.s.Hosts = []string{up, "panel.example.org"}
	for origin, want := range map[string]int{"https://panel.example.org": http.StatusSeeOther, "https://evil.example": http.StatusForbidden} {
		tok, _ := p.store.NewLink("olga")
		req, _ := http.NewRequest("POST", p.srv.URL+"/login", strings.NewReader("token="+tok))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("login from %s through the proxy: %d, want %d", origin, resp.StatusCode, want)
		}
	}
}

// The actions kept for the pages are bounded by key too: a stop may name
// any valid name, and each would be kept for good.
func TestJobKeysBounded(t *testing.T) {
	st, _ := newStore(t)
	s := &Server{Store: st, Log: io.Discard, Run: func(context.Context, []string, io.Writer, io.Writer) error { return nil }}
	s.init()
	sess := Session{User: "olga", Role: Operator}
	for i := range keptKeys + 50 {
		done, err := s.startJob(instanceKey("x"+strconv.Itoa(i)), sess, []string{"stop", "x"})
		if err != nil {
			t.Fatal(err)
		}
		<-done
	}
	s.mu.Lock()
	n := len(s.jobs)
	_, newest := s.jobs[instanceKey("x"+strconv.Itoa(keptKeys+49))]
	s.mu.Unlock()
	if n > keptKeys || !newest {
		t.Errorf("%d keys kept (at most %d), the newest kept: %v", n, keptKeys, newest)
	}
}

// A users file that cannot be read is said with its file and line, to
// the browser and the journal; it neither logs anyone out for good nor
// uses up a login link: once mended, both work.
func TestUsersFileBroken(t *testing.T) {
	p := newPanel(t)
	good, err := os.ReadFile(p.store.UsersFile)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.store.NewLink("olga")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.store.UsersFile, append(append([]byte{}, good...), "carol superuser\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(string(good), "\n") + 1
	want := fmt.Sprintf("%s:%d:", p.store.UsersFile, line)
	resp, body := p.do(t, "alice", "GET", "/", "", nil)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, want) {
		t.Errorf("a page with the users file broken: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest("POST", p.srv.URL+"/login", strings.NewReader("token="+tok))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	lresp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := io.ReadAll(lresp.Body)
	lresp.Body.Close()
	if lresp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(lb), want) || !strings.Contains(p.log.String(), want) {
		t.Errorf("a login with the users file broken: %d %s\njournal: %s", lresp.StatusCode, lb, p.log.String())
	}
	if err := os.WriteFile(p.store.UsersFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if resp, _ := p.do(t, "alice", "GET", "/", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("alice's session after the mend: %d", resp.StatusCode)
	}
	if _, _, err := p.store.Redeem(tok); err != nil {
		t.Errorf("the link after the mend: %v", err)
	}
}
