package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestQueryBudget: every left4me process asks a server from 127.0.0.1,
// and the engine answers one address at most sv_max_queries_sec (3)
// queries a second averaged over sv_max_queries_window (30 s), dropping
// the rest without a word (CIPRateLimit, engine/sv_ipratelimit.cpp; the
// stand-in does so by default). Three open web panel pages refreshing
// every 3 s, beside the relay's watchdog queries of a server with the
// shortest hang_timeout (10 s), must stay inside that budget for longer
// than a window: no refresh finds the server silent (its map unknown),
// and the relay never loses its answers.
func TestQueryBudget(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	if err := writeFiles(state, map[string]string{"overlays/busy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=2\n"}); err != nil {
		t.Fatal(err)
	}
	c := bootStoreHost(t, state, map[string]string{
		"etc/left4me/instances/srv.yaml": "port: 27095\nhang_timeout: 10\noverlays: [busy]\n",
	})
	c.MustRun(t, "left4me", "start", "srv")
	c.MustRun(t, "left4me", "web", "user", "add", "vic", "--role", "viewer")
	base := proxyInto(t, c, "127.0.0.1:9780")
	if err := writeFiles(c.Root, map[string]string{"etc/systemd/system/left4me-web.service.d/url.conf": "[Service]\nExecStart=\nExecStart=/usr/lib/left4me/left4me-web --url " + base + "\n"}); err != nil {
		t.Fatal(err)
	}
	c.MustRun(t, "systemctl", "daemon-reload")
	c.MustRun(t, "systemctl", "start", "left4me-web.socket")
	// Log in as the login page's button does: it posts the link's token.
	link := strings.TrimSpace(c.MustRun(t, "left4me", "web", "login", "--url", base, "vic"))
	_, token, ok := strings.Cut(link, "#token=")
	if !ok {
		t.Fatalf("login link %q", link)
	}
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Value != "" {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatalf("login: %s, no session cookie", resp.Status)
	}

	// What app.js does on the instances page and on srv's page.
	const pages, refresh, span = 3, 3 * time.Second, 45 * time.Second
	paths := []string{"/fragment/instances", "/i/srv/live", "/fragment/instances"}
	var mu sync.Mutex
	var silent []string
	var wg sync.WaitGroup
	end := time.Now().Add(span)
	for page := range pages {
		wg.Go(func() {
			time.Sleep(time.Duration(page) * refresh / pages)
			for time.Now().Before(end) {
				next := time.Now().Add(refresh)
				req, _ := http.NewRequest("GET", base+paths[page], nil)
				req.AddCookie(cookie)
				body := ""
				resp, err := noRedirect.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body = string(b)
				}
				if !strings.Contains(body, "c1m1_hotel") {
					mu.Lock()
					silent = append(silent, time.Now().Format("15:04:05")+" "+paths[page]+": "+strings.Join(strings.Fields(body), " "))
					mu.Unlock()
				}
				time.Sleep(time.Until(next))
			}
		})
	}
	wg.Wait()
	if len(silent) > 0 {
		t.Errorf("%d of the panel's refreshes found srv silent on A2S:\n%s", len(silent), strings.Join(silent, "\n"))
	}
	if j := c.Journal(t, "l4d2@srv.service"); strings.Contains(j, "not answering A2S_INFO") || strings.Contains(j, "no A2S_INFO answer") {
		t.Errorf("the relay lost its answers:\n%s", j)
	}
}
