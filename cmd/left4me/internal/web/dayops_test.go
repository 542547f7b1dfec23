package web

import (
	"net/http"
	"strings"
	"testing"
)

// The schedules are every user's to read, the alerts' destinations and
// their test the admin's; what a spec says is shown as text.
func TestDayops(t *testing.T) {
	p := newPanel(t)
	resp, body := p.do(t, "vic", "GET", "/dayops", "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<tr data-name="srv1"><td>srv1</td><td>&lt;img src=x onerror=alert(1)&gt; (when empty, within 1h0m0s, then with warnings)</td><td>active</td><td>daily</td><td>active</td>`) {
		t.Errorf("viewer: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "<h2>Alerts</h2>") || strings.Contains(body, "alert-test") {
		t.Errorf("a viewer sees the alerts:\n%s", body)
	}
	if resp, _ := p.do(t, "vic", "POST", "/dayops/alert-test", "ok", nil); resp.StatusCode != http.StatusForbidden || p.cli.ran("alert") {
		t.Errorf("a viewer's test alert: %d", resp.StatusCode)
	}
	if resp, _ := p.do(t, "alice", "POST", "/dayops/alert-test", "", nil); resp.StatusCode != http.StatusForbidden || p.cli.ran("alert") {
		t.Errorf("a test alert without the CSRF token: %d", resp.StatusCode)
	}
	resp, body = p.do(t, "alice", "POST", "/dayops/alert-test", "ok", nil)
	if resp.StatusCode != http.StatusOK || !p.cli.ran("alert") || !strings.Contains(body, "sent a test alert") || !strings.Contains(body, "no alerts.yaml: alerts go nowhere") {
		t.Errorf("admin's test alert: %d\n%s", resp.StatusCode, body)
	}
	// A list that fails is said, not shown as no instances.
	p.cli.mu.Lock()
	p.cli.failList = true
	p.cli.mu.Unlock()
	p.s.live.outdated()
	if _, body := p.do(t, "vic", "GET", "/dayops", "", nil); !strings.Contains(body, "the instances cannot be listed") {
		t.Errorf("a failed list:\n%s", body)
	}
}
