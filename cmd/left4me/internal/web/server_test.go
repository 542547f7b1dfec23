package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/syncbuf"
)

const hostile = `<img src=x onerror=alert(1)>`

// fakeCLI answers the commands the panel runs and records them.
type fakeCLI struct {
	mu       sync.Mutex
	runs     [][]string
	failList bool // list fails, as without systemd or the specs
}

func (f *fakeCLI) run(ctx context.Context, args []string, stdout, _ io.Writer) error {
	f.mu.Lock()
	f.runs = append(f.runs, args)
	f.mu.Unlock()
	switch args[0] {
	case "stop":
		if slices.Contains(args, "--when-empty") { // waits for the players, until cancelled
			<-ctx.Done()
			return ctx.Err()
		}
	case "list":
		f.mu.Lock()
		fail := f.failList
		f.mu.Unlock()
		if fail {
			return fmt.Errorf("spec directory missing")
		}
		fmt.Fprint(stdout, `[{"name":"srv1","port":27015,"state":"active","hibernating":true,"humans":0,"bots":0,"overlays":[{"path":"x"}]},`+
			`{"name":"bad","port":27016,"state":"inactive","error":"bad.yaml:2:16: config: rcon_password \"hunter2\": not a setting"}]`)
	case "players":
		fmt.Fprintf(stdout, `{"map":%q,"humans":1,"players":[{"name":%q}]}`, hostile, hostile)
	case "send":
		fmt.Fprintln(stdout, hostile)
	case "status":
		fmt.Fprintf(stdout, `{"name":"srv1","schedule":{"restart":%q,"restart_deadline":"1h0m0s","restart_force":true,"restart_timer":"active","backup":"daily","backup_timer":"active"}}`, hostile)
	case "alert":
		fmt.Fprintln(stdout, "sent a test alert")
	case "logs":
		fmt.Fprintln(stdout, "Console: said the secret word")
	}
	return nil
}

func (f *fakeCLI) ran(verb string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.runs, func(a []string) bool { return a[0] == verb })
}

// lockedBuf is a journal the handlers write concurrently.
type lockedBuf = syncbuf.Buffer

type panel struct {
	s     *Server
	store Store
	srv   *httptest.Server
	cli   *fakeCLI
	log   *lockedBuf        // the journal
	sids  map[string]string // user -> session id
	csrf  map[string]string
}

func newPanel(t *testing.T) *panel {
	t.Helper()
	st, _ := newStore(t)
	specs := filepath.Join(t.TempDir(), "instances")
	if err := os.MkdirAll(specs, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(specs, "srv1.yaml"), []byte("port: 27015\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fakeCLI{}
	log := &lockedBuf{}
	s := &Server{Store: st, Log: log, Run: f.run, SpecDir: specs,
		SpecPath: func(n string) string { return filepath.Join(specs, n+".yaml") },
		SaveSpec: func(context.Context, string, []byte, io.Writer) error { return nil },
		RenderSpec: func(ctx context.Context, name string, data []byte, out io.Writer) error {
			_ = f.run(ctx, []string{"render", "--spec", "-", name}, io.Discard, io.Discard)
			_, err := fmt.Fprintf(out, "rendered %s from: %s", name, data)
			return err
		},
		Attach: func(_ context.Context, name string, out io.Writer) error {
			_ = f.run(context.Background(), []string{"console", name}, io.Discard, io.Discard)
			_, err := fmt.Fprint(out, "line one\r\n"+hostile+"\nno end")
			return err
		}}
	p := &panel{s: s, log: log, store: st, srv: httptest.NewServer(s.Handler()), cli: f, sids: map[string]string{}, csrf: map[string]string{}}
	t.Cleanup(p.srv.Close)
	for _, u := range []string{"alice", "olga", "vic"} {
		tok, err := st.NewLink(u)
		if err != nil {
			t.Fatal(err)
		}
		sid, sess, err := st.Redeem(tok)
		if err != nil {
			t.Fatal(err)
		}
		p.sids[u], p.csrf[u] = sid, sess.CSRF
	}
	return p
}

// do sends a request as user ("" = nobody); csrf "" sends none, "ok" the
// user's.
func (p *panel) do(t *testing.T, user, method, path, csrf string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if csrf == "ok" {
		form.Set("csrf", p.csrf[user])
	} else if csrf != "" {
		form.Set("csrf", csrf)
	}
	req, _ := http.NewRequest(method, p.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if user != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: p.sids[user]})
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAccess(t *testing.T) {
	stop := url.Values{"action": {"stop"}, "kick": {"on"}}
	tests := []struct {
		name   string
		user   string
		method string
		path   string
		csrf   string
		form   url.Values
		hdr    []string
		code   int
		ran    string // the command that must (code < 400) or must not have run
	}{
		{name: "nobody sees nothing", method: "GET", path: "/", code: 401},
		{name: "nobody stops nothing", method: "POST", path: "/i/srv1/action", form: stop, code: 401, ran: "stop"},
		{name: "viewer sees the list", user: "vic", method: "GET", path: "/", code: 200, ran: "list"},
		{name: "viewer cannot stop", user: "vic", method: "POST", path: "/i/srv1/action", csrf: "ok", form: stop, code: 403, ran: "stop"},
		{name: "viewer cannot type in the console", user: "vic", method: "POST", path: "/i/srv1/console", csrf: "ok", form: url.Values{"cmd": {"status"}}, code: 403, ran: "send"},
		{name: "operator without CSRF token", user: "olga", method: "POST", path: "/i/srv1/action", form: stop, code: 403, ran: "stop"},
		{name: "operator with another's CSRF token", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "x", form: stop, code: 403, ran: "stop"},
		{name: "operator from another origin", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: stop, hdr: []string{"Origin", "https://evil.example"}, code: 403, ran: "stop"},
		{name: "operator from an opaque origin", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: stop, hdr: []string{"Origin", "null"}, code: 403, ran: "stop"},
		{name: "operator cross-site", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: stop, hdr: []string{"Sec-Fetch-Site", "cross-site"}, code: 403, ran: "stop"},
		{name: "operator same-site", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: stop, hdr: []string{"Sec-Fetch-Site", "same-site"}, code: 403, ran: "stop"},
		{name: "operator same-origin", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: stop, hdr: []string{"Sec-Fetch-Site", "same-origin"}, code: 303, ran: "stop"},
		{name: "operator stops", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: stop, code: 303, ran: "stop"},
		// srv1 has players: at once only when asked to kick them.
		{name: "operator stops players unasked", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: url.Values{"action": {"stop"}}, code: 409, ran: "stop"},
		{name: "operator restarts players unasked", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: url.Values{"action": {"restart"}}, code: 409, ran: "restart"},
		{name: "operator forces without waiting", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: url.Values{"action": {"stop"}, "force": {"on"}, "kick": {"on"}}, code: 400, ran: "stop"},
		{name: "operator unknown action", user: "olga", method: "POST", path: "/i/srv1/action", csrf: "ok", form: url.Values{"action": {"delete"}}, code: 400, ran: "delete"},
		{name: "operator bad name", user: "olga", method: "POST", path: "/i/-x/action", csrf: "ok", form: stop, code: 400, ran: "stop"},
		{name: "operator cannot read specs", user: "olga", method: "GET", path: "/spec/srv1", code: 403},
		{name: "operator cannot save specs", user: "olga", method: "POST", path: "/spec/srv1/save", csrf: "ok", code: 403},
		{name: "admin reads specs", user: "alice", method: "GET", path: "/spec/srv1", code: 200},
		{name: "operator cannot render unsaved specs", user: "olga", method: "POST", path: "/spec/srv1/render", csrf: "ok", form: url.Values{"text": {"port: 27016\n"}}, code: 403, ran: "render"},
		{name: "admin renders unsaved text only with CSRF", user: "alice", method: "POST", path: "/spec/srv1/render", form: url.Values{"text": {"port: 27016\n"}}, code: 403, ran: "render"},
		{name: "admin renders unsaved text", user: "alice", method: "POST", path: "/spec/srv1/render", csrf: "ok", form: url.Values{"text": {"port: 27016\n"}}, code: 200, ran: "render"},
		{name: "operator cannot build overlays", user: "olga", method: "POST", path: "/overlays", csrf: "ok", form: url.Values{"action": {"build"}, "name": {"comp"}}, code: 403, ran: "overlay"},
		{name: "operator cannot update the game", user: "olga", method: "POST", path: "/game", csrf: "ok", form: url.Values{"action": {"update"}}, code: 403, ran: "game"},
		{name: "admin builds an overlay", user: "alice", method: "POST", path: "/overlays", csrf: "ok", form: url.Values{"action": {"build"}, "name": {"comp"}}, code: 303},
		{name: "viewer sees backups", user: "vic", method: "GET", path: "/backups", code: 200, ran: "backups"},
		{name: "admin logs out without CSRF", user: "alice", method: "POST", path: "/logout", code: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPanel(t)
			resp, body := p.do(t, tt.user, tt.method, tt.path, tt.csrf, tt.form, tt.hdr...)
			if resp.StatusCode != tt.code {
				t.Fatalf("%s %s as %q: %d, want %d: %s", tt.method, tt.path, tt.user, resp.StatusCode, tt.code, body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q", csp)
			}
			if tt.ran != "" && p.cli.ran(tt.ran) != (tt.code < 400) {
				t.Errorf("ran %s: %v (runs %q)", tt.ran, p.cli.ran(tt.ran), p.cli.runs)
			}
		})
	}
}

func TestHostileTextEscaped(t *testing.T) {
	p := newPanel(t)
	for _, path := range []string{"/", "/fragment/instances", "/i/srv1", "/i/srv1/live"} {
		_, body := p.do(t, "vic", "GET", path, "", nil)
		if strings.Contains(body, "<img") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: hostile text not escaped:\n%s", path, body)
		}
	}
	// The console's answer is text/plain, put in with textContent.
	resp, body := p.do(t, "olga", "POST", "/i/srv1/console", "ok", url.Values{"cmd": {"echo hi"}})
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(body, hostile) {
		t.Errorf("console answer %q as %q", body, ct)
	}
	if got := p.cli.runs[len(p.cli.runs)-1]; !slices.Equal(got, []string{"send", "--", "srv1", "echo hi"}) {
		t.Errorf("console ran %q", got)
	}
}

func TestLoginOnce(t *testing.T) {
	p := newPanel(t)
	// A GET of the link shows a button and uses nothing; a token in the
	// query (an old link) is not taken into the page.
	resp, body := p.do(t, "", "GET", "/login?token=abc", "", nil)
	if resp.StatusCode != 200 || strings.Contains(body, "abc") || !strings.Contains(body, `id="login-token"`) {
		t.Fatalf("GET /login: %d %s", resp.StatusCode, body)
	}
	resp, _ = p.do(t, "", "POST", "/login", "", url.Values{"token": {"abc"}})
	if resp.StatusCode != 403 {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
	// A link posted from another site is refused and stays usable.
	tok, err := p.store.NewLink("vic")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ = p.do(t, "", "POST", "/login", "", url.Values{"token": {tok}}, "Origin", "https://evil.example")
	if resp.StatusCode != 403 {
		t.Fatalf("login from another origin: %d", resp.StatusCode)
	}
	for _, hdr := range [][]string{{"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}} {
		if resp, _ = p.do(t, "", "POST", "/login", "", url.Values{"token": {tok}}, hdr...); resp.StatusCode != 403 {
			t.Fatalf("login with %q: %d", hdr, resp.StatusCode)
		}
	}
	resp, _ = p.do(t, "", "POST", "/login", "", url.Values{"token": {tok}}, "Sec-Fetch-Site", "same-origin")
	c := resp.Cookies()
	if resp.StatusCode != 303 || len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || c[0].Secure {
		t.Fatalf("login: %d, cookies %+v", resp.StatusCode, c)
	}
	resp, _ = p.do(t, "", "POST", "/login", "", url.Values{"token": {tok}})
	if resp.StatusCode != 403 {
		t.Fatalf("second use of a link: %d", resp.StatusCode)
	}
}

func TestActionArgs(t *testing.T) {
	tests := []struct {
		what, deadline     string
		empty, force, kick bool
		want               []string
	}{
		{what: "start", want: []string{"start", "srv1"}},
		// At once only while nobody plays, as the command line judges it.
		{what: "stop", want: []string{"stop", "--when-empty", "--deadline", "0s", "srv1"}},
		{what: "restart", want: []string{"restart", "--when-empty", "--deadline", "0s", "srv1"}},
		{what: "stop", kick: true, want: []string{"stop", "srv1"}},
		{what: "stop", empty: true, deadline: "1h", kick: true}, // kick does not wait
		{what: "restart", empty: true, deadline: "30m", want: []string{"restart", "--when-empty", "--deadline", "30m0s", "srv1"}},
		{what: "stop", empty: true, deadline: "1h", force: true, want: []string{"stop", "--when-empty", "--deadline", "1h0m0s", "--force", "srv1"}},
		{what: "stop", force: true}, // force needs when-empty, as on the command line
		{what: "backup", want: []string{"backup", "srv1"}},
		{what: "backup", empty: true, deadline: "1h", force: true, want: []string{"backup", "srv1"}},
		{what: "restore"},
		{what: "stop", empty: true, deadline: "forever"},
		{what: "stop", empty: true, deadline: "-1m"},
		{what: "stop", empty: true, deadline: "48h"},
		{what: "delete"},
		{what: "--all"},
	}
	for _, tt := range tests {
		got, err := actionArgs("srv1", tt.what, tt.empty, tt.deadline, tt.force, tt.kick)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%+v: accepted as %q", tt, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%+v: %q, %v; want %q", tt, got, err, tt.want)
		}
	}
}

func TestOpsArgs(t *testing.T) {
	tests := []struct {
		key, what, name string
		want            []string
	}{
		{"overlays", "build", "comp", []string{"overlay", "build", "--", "comp"}},
		{"overlays", "build", "workshop/maps", []string{"overlay", "build", "--", "workshop/maps"}},
		{"overlays", "build", "--no-restart", nil},
		{"overlays", "build", "../etc", nil},
		{"overlays", "build", "", nil},
		{"overlays", "gc", "", []string{"overlay", "gc"}},
		{"game", "update", "", []string{"game", "update", "--service"}},
		{"game", "gc", "", []string{"game", "gc"}},
		{"game", "install", "", nil},
		{"overlays", "update", "", nil},
	}
	for _, tt := range tests {
		got, err := opsArgs(tt.key, tt.what, tt.name)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%+v: accepted as %q", tt, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%+v: %q, %v; want %q", tt, got, err, tt.want)
		}
	}
}

func TestCookieSecureUnderTLS(t *testing.T) {
	for _, tls := range []bool{false, true} {
		st, _ := newStore(t)
		s := &Server{Store: st, Log: io.Discard, TLS: tls}
		tok, err := st.NewLink("alice")
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		c := rec.Result().Cookies()
		if rec.Code != 303 || len(c) != 1 || c[0].Secure != tls || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode {
			t.Fatalf("TLS %v: %d %+v", tls, rec.Code, c)
		}
		if want := map[bool]string{false: "left4me_session", true: "__Host-left4me_session"}[tls]; c[0].Name != want || c[0].Path != "/" || c[0].Domain != "" {
			t.Errorf("TLS %v: cookie %+v, want %s on / without a domain", tls, c[0], want)
		}
		if hsts := rec.Header().Get("Strict-Transport-Security"); (hsts != "") != tls {
			t.Errorf("TLS %v: Strict-Transport-Security %q", tls, hsts)
		}
		// The session works under its own name.
		req = httptest.NewRequest("GET", "/", nil)
		req.AddCookie(c[0])
		rec = httptest.NewRecorder()
		s.Run = (&fakeCLI{}).run
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("TLS %v: with the cookie: %d", tls, rec.Code)
		}
	}
}

func TestStream(t *testing.T) {
	p := newPanel(t)
	if resp, _ := p.do(t, "vic", "GET", "/i/srv1/stream", "", nil); resp.StatusCode != 403 {
		t.Errorf("a viewer reads the console: %d", resp.StatusCode)
	}
	resp, body := p.do(t, "olga", "GET", "/i/srv1/stream", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// One event a line, no carriage return; a line not ended is not sent.
	if want := "data: line one\n\ndata: " + hostile + "\n\n"; body != want {
		t.Errorf("events %q, want %q", body, want)
	}
	if got := p.cli.runs[len(p.cli.runs)-1]; !slices.Equal(got, []string{"console", "srv1"}) {
		t.Errorf("ran %q", got)
	}
	if resp, _ := p.do(t, "", "GET", "/i/srv1/stream", "", nil); resp.StatusCode != 401 {
		t.Errorf("stream without a session: %d", resp.StatusCode)
	}
}

// TestStreamOutlivesReadTimeout: the server's deadlines do not end a
// console stream (net/http clears the read deadline itself once a
// request without a body is read; a WriteTimeout would cut the stream).
func TestStreamOutlivesReadTimeout(t *testing.T) {
	st, _ := newStore(t)
	release := make(chan struct{})
	s := &Server{Store: st, Log: io.Discard, Run: (&fakeCLI{}).run,
		Attach: func(ctx context.Context, _ string, out io.Writer) error {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
			_, err := fmt.Fprint(out, "late line\n")
			return err
		}}
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config.ReadTimeout = 50 * time.Millisecond
	srv.Config.WriteTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()
	tok, err := st.NewLink("olga")
	if err != nil {
		t.Fatal(err)
	}
	sid, _, err := st.Redeem(tok)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/i/srv1/stream", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: sid})
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Well past the read deadline.
	time.Sleep(300 * time.Millisecond)
	close(release)
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "data: late line\n\n" {
		t.Errorf("stream after the read timeout: %q", b)
	}
}

// TestConsoleLogRedacted: a password typed into the console does not reach
// the journal.
func TestConsoleLogRedacted(t *testing.T) {
	tests := []struct{ cmd, secret string }{
		{"rcon_password hunter2", "hunter2"},
		{`sv_password "s3cret"`, "s3cret"},
	}
	for _, tt := range tests {
		p := newPanel(t)
		resp, body := p.do(t, "olga", "POST", "/i/srv1/console", "ok", url.Values{"cmd": {tt.cmd}})
		if resp.StatusCode != 200 {
			t.Fatalf("%q: %d %s", tt.cmd, resp.StatusCode, body)
		}
		if log := p.log.String(); strings.Contains(log, tt.secret) || !strings.Contains(log, "left4me send srv1") {
			t.Errorf("%q logged as:\n%s", tt.cmd, log)
		}
	}
}

// TestLogsOperatorOnly: the log is the console's output: a viewer sees the
// state and the players, not it.
func TestLogsOperatorOnly(t *testing.T) {
	for _, user := range []string{"vic", "olga", "alice"} {
		for _, path := range []string{"/i/srv1", "/i/srv1/live"} {
			p := newPanel(t)
			resp, body := p.do(t, user, "GET", path, "", nil)
			if resp.StatusCode != 200 || !strings.Contains(body, "player(s)") {
				t.Fatalf("%s as %s: %d %s", path, user, resp.StatusCode, body)
			}
			operates := user != "vic"
			if strings.Contains(body, "secret word") != operates || p.cli.ran("logs") != operates {
				t.Errorf("%s as %s: log shown %v, ran logs %v", path, user, strings.Contains(body, "secret word"), p.cli.ran("logs"))
			}
		}
	}
}

func TestJobs(t *testing.T) {
	p := newPanel(t)
	wait := url.Values{"action": {"stop"}, "when_empty": {"on"}, "deadline": {"1h"}}
	steps := []struct {
		user, method, path, csrf string
		form                     url.Values
		code                     int
		body                     string
	}{
		{"olga", "POST", "/i/srv1/action", "ok", wait, 303, ""},
		{"olga", "POST", "/i/srv1/action", "ok", url.Values{"action": {"start"}}, 409, "an action is running already for srv1: left4me stop --when-empty"},
		{"olga", "GET", "/i/srv1", "", nil, 200, `action="/i/srv1/cancel"`},
		{"vic", "GET", "/i/srv1", "", nil, 200, "running"},
		{"vic", "POST", "/i/srv1/cancel", "ok", nil, 403, ""},
		{"olga", "POST", "/i/srv1/cancel", "", nil, 403, ""},
		{"olga", "POST", "/i/srv1/action", "ok", url.Values{"action": {"start"}}, 409, ""},
		{"olga", "POST", "/i/nope/action", "ok", url.Values{"action": {"start"}}, 404, "there is no instance nope"},
		// A stop goes to a name without a spec: an orphan's, whose spec
		// was removed while it runs (the CLI says of a name that is not).
		{"olga", "POST", "/i/orph/action", "ok", url.Values{"action": {"stop"}}, 303, ""},
		{"olga", "POST", "/game/cancel", "ok", nil, 403, ""},
		{"olga", "POST", "/i/srv1/cancel", "ok", nil, 303, ""},
	}
	for i, st := range steps {
		resp, body := p.do(t, st.user, st.method, st.path, st.csrf, st.form)
		if resp.StatusCode != st.code || !strings.Contains(body, st.body) {
			t.Fatalf("step %d: %s %s as %s: %d, want %d with %q: %s", i, st.method, st.path, st.user, resp.StatusCode, st.code, st.body, body)
		}
	}
	// The cancelled command ended (its context), and says so.
	for {
		if js := p.s.jobsOf(instanceKey("srv1")); len(js) == 1 && js[0].Done {
			if !js[0].Failed || js[0].Cancelled != "olga" || !strings.Contains(js[0].Output, "context canceled") {
				t.Fatalf("cancelled job: %+v", js[0])
			}
			break
		}
		runtime.Gosched()
	}
	if _, body := p.do(t, "olga", "GET", "/i/srv1", "", nil); !strings.Contains(body, "failed (cancelled by olga)") || strings.Contains(body, "/cancel") {
		t.Errorf("page after the cancel:\n%s", body)
	}
	if resp, body := p.do(t, "olga", "POST", "/i/srv1/cancel", "ok", nil); resp.StatusCode != 409 {
		t.Errorf("cancel of nothing: %d %s", resp.StatusCode, body)
	}
	if p.cli.ran("start") {
		t.Errorf("a refused start ran: %q", p.cli.runs)
	}
	if !slices.ContainsFunc(p.cli.runs, func(r []string) bool { return r[0] == "stop" && r[len(r)-1] == "orph" }) {
		t.Errorf("the orphan's stop did not run: %q", p.cli.runs)
	}
}

// TestJobLimits: the instances' actions are bounded; waits on every
// server do not hold up the game's update or an overlay build.
func TestJobLimits(t *testing.T) {
	st, _ := newStore(t)
	s := &Server{Store: st, Log: io.Discard, Run: func(ctx context.Context, _ []string, _, _ io.Writer) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	s.init()
	sess := Session{User: "alice", Role: Admin}
	srv := func(i int) string { return instanceKey(fmt.Sprint("srv", i)) }
	for i := range maxJobs {
		if _, err := s.startJob(srv(i), sess, []string{"stop", "--when-empty"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.startJob(srv(maxJobs), sess, []string{"stop", "--when-empty"}); !errors.Is(err, ErrTooMany) {
		t.Errorf("instance action %d: %v", maxJobs+1, err)
	}
	for _, key := range []string{"game", "overlays"} {
		if _, err := s.startJob(key, sess, []string{key}); err != nil {
			t.Errorf("%s beside %d waits: %v", key, maxJobs, err)
		}
		if _, err := s.startJob(key, sess, []string{key}); !errors.Is(err, ErrBusy) {
			t.Errorf("a second %s action: %v", key, err)
		}
	}
	// A running action stays listed among many finished ones.
	s.mu.Lock()
	for range keptJobs + 3 {
		s.jobs[srv(0)] = append(s.jobs[srv(0)], &job{Done: true})
	}
	s.prune(srv(0))
	s.mu.Unlock()
	js := s.jobsOf(srv(0))
	if len(js) != keptJobs+1 || js[0].Done {
		t.Errorf("after pruning: %d jobs, the first done %v", len(js), js[0].Done)
	}
	for i := range maxJobs {
		if err := s.cancelJob(srv(i), sess); err != nil {
			t.Error(err)
		}
	}
	for _, key := range []string{"game", "overlays"} {
		if err := s.cancelJob(key, sess); err != nil {
			t.Error(err)
		}
	}
}

// TestHostChecked: a request for another host name (DNS rebinding: a
// name of the attacker's that resolves to 127.0.0.1) is refused.
func TestHostChecked(t *testing.T) {
	st, _ := newStore(t)
	s := &Server{Store: st, Log: io.Discard, Hosts: []string{"127.0.0.1:9780", "localhost:9780", "panel.example.org"}}
	for _, tt := range []struct {
		host string
		code int
	}{
		{"127.0.0.1:9780", 200}, {"LOCALHOST:9780", 200}, {"panel.example.org", 200},
		{"evil.example:9780", 421}, {"127.0.0.1:80", 421}, {"panel.example.org.evil.example", 421}, {"", 421},
	} {
		req := httptest.NewRequest("GET", "/login", nil)
		req.Host = tt.host
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.code {
			t.Errorf("Host %q: %d, want %d", tt.host, rec.Code, tt.code)
		}
	}
}

// TestFormsOnly: a change is a form of bounded size; a spec's may be
// larger.
func TestFormsOnly(t *testing.T) {
	stop := url.Values{"action": {"stop"}, "kick": {"on"}}
	big := url.Values{"action": {"stop"}, "x": {strings.Repeat("x", maxForm)}}
	bigSpec := url.Values{"text": {"port: 27015\n#" + strings.Repeat("x", maxForm) + "\n"}}
	tests := []struct {
		name, user, path string
		form             url.Values
		hdr              []string
		code             int
		ran              string
	}{
		{"text/plain", "olga", "/i/srv1/action", stop, []string{"Content-Type", "text/plain"}, 415, "stop"},
		{"multipart", "olga", "/i/srv1/action", stop, []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "stop"},
		{"json", "olga", "/i/srv1/console", url.Values{"cmd": {"status"}}, []string{"Content-Type", "application/json"}, 415, "send"},
		{"no type", "olga", "/i/srv1/action", stop, []string{"Content-Type", ""}, 415, "stop"},
		{"too large", "olga", "/i/srv1/action", big, nil, 413, "stop"},
		{"form with charset", "olga", "/i/srv1/action", stop, []string{"Content-Type", "application/x-www-form-urlencoded;charset=UTF-8"}, 303, "stop"},
		{"a large spec", "alice", "/spec/srv1/check", bigSpec, nil, 200, ""},
		{"login as text", "", "/login", url.Values{"token": {"abc"}}, []string{"Content-Type", "text/plain"}, 415, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPanel(t)
			csrf := "ok"
			if tt.user == "" {
				csrf = ""
			}
			resp, body := p.do(t, tt.user, "POST", tt.path, csrf, tt.form, tt.hdr...)
			if resp.StatusCode != tt.code {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.code, body)
			}
			if tt.ran != "" && p.cli.ran(tt.ran) != (tt.code < 400) {
				t.Errorf("ran %s: %v", tt.ran, p.cli.ran(tt.ran))
			}
		})
	}
}

// TestSpecErrorAdminsOnly: a spec's problems quote its values: a viewer
// or an operator reads "invalid spec", an admin the message.
func TestSpecErrorAdminsOnly(t *testing.T) {
	for _, user := range []string{"vic", "olga", "alice"} {
		for _, path := range []string{"/", "/fragment/instances", "/i/bad", "/i/bad/live"} {
			p := newPanel(t)
			resp, body := p.do(t, user, "GET", path, "", nil)
			if resp.StatusCode != 200 || user != "alice" && !strings.Contains(body, "invalid spec") {
				t.Fatalf("%s as %s: %d %s", path, user, resp.StatusCode, body)
			}
			if strings.Contains(body, "hunter2") != (user == "alice") {
				t.Errorf("%s as %s: the spec's message shown %v", path, user, user != "alice")
			}
		}
	}
}

// The editor's Render button sends its text: what is rendered is that,
// not the saved spec, and it comes back as text.
func TestRenderUnsavedText(t *testing.T) {
	p := newPanel(t)
	resp, body := p.do(t, "alice", "POST", "/spec/srv1/render", "ok", url.Values{"text": {"port: 27999\r\n"}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || body != "rendered srv1 from: port: 27999\n" {
		t.Fatalf("%d %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// A render that fails says why with 422, as text.
func TestRenderUnsavedTextRefused(t *testing.T) {
	p := newPanel(t)
	p.s.RenderSpec = func(context.Context, string, []byte, io.Writer) error {
		return errors.New("srv1.yaml:1:7: port: 27016 is already used")
	}
	resp, body := p.do(t, "alice", "POST", "/spec/srv1/render", "ok", url.Values{"text": {"port: 27016\n"}})
	if resp.StatusCode != 422 || !strings.Contains(body, "srv1.yaml:1:7: port") {
		t.Fatalf("%d: %q", resp.StatusCode, body)
	}
	if !strings.Contains(p.log.String(), "rendered the spec of srv1 from the editor") {
		t.Errorf("not logged: %s", p.log.String())
	}
}

// The instances table marks a server whose console said it hibernates
// (list --json's hibernating): nobody is on it though it answers nothing.
func TestHibernatingMarked(t *testing.T) {
	p := newPanel(t)
	for _, path := range []string{"/", "/fragment/instances"} {
		_, body := p.do(t, "vic", "GET", path, "", nil)
		i := strings.Index(body, `data-name="srv1"`)
		j := strings.Index(body, `data-name="bad"`)
		if i < 0 || j < i || !strings.Contains(body[i:j], `>hibernating</span>`) {
			t.Errorf("%s: srv1's row has no hibernating mark:\n%s", path, body)
		}
		if j >= 0 && strings.Contains(body[j:], `>hibernating</span>`) {
			t.Errorf("%s: bad's row is marked hibernating:\n%s", path, body)
		}
	}
}

// The panel's actions end with its process: as it stops, each one still
// running (a restart waiting for players) is named in the journal, so
// that the operator knows it will never be done; finished ones are not.
func TestUnfinishedLoggedAtStop(t *testing.T) {
	st, _ := newStore(t)
	var log strings.Builder
	s := &Server{Store: st, Log: &log, Run: func(ctx context.Context, args []string, _, _ io.Writer) error {
		if args[0] == "start" {
			return nil
		}
		<-ctx.Done()
		return ctx.Err()
	}}
	s.init()
	sess := Session{User: "alice", Role: Admin}
	if _, err := s.startJob(instanceKey("srv1"), sess, []string{"restart", "--when-empty", "--deadline", "6h0m0s", "srv1"}); err != nil {
		t.Fatal(err)
	}
	done, err := s.startJob(instanceKey("srv2"), sess, []string{"start", "srv2"})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	for !slices.ContainsFunc(s.jobsOf(instanceKey("srv2")), func(j job) bool { return j.Done }) {
		runtime.Gosched()
	}
	log.Reset()
	s.LogUnfinished()
	if !strings.Contains(log.String(), "web: stopping: left4me restart --when-empty --deadline 6h0m0s srv1 (by alice, started ") ||
		!strings.Contains(log.String(), "ends with the panel; nothing more of it is done") || strings.Contains(log.String(), "srv2") {
		t.Errorf("logged %q", log.String())
	}
}
