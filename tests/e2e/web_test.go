package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshots: go test -run TestWebPanel ./tests/e2e/ -screenshots
// rewrites docs/web-*.png.
var screenshots = flag.Bool("screenshots", false, "TestWebPanel: write the pages' screenshots to docs/")

// hostileText is what a server prints back: markup that would run script
// if the panel let it through as HTML.
const hostileText = `<img src=x onerror=document.title='pwned'>`

// TestWebPanel drives the panel in headless Chromium against the real
// left4me-web.socket on real systemd: the login link (once), an operator
// action refused to a viewer by the server, the spec editor (a mistake on
// its line, the expose checkbox and its exec preview, a render of the
// unsaved text, save), a start from
// the browser, the console, hostile text shown as text, a backup taken
// from the instance's page and listed on the backups page. With -screenshots
// it writes screenshots of the main pages to docs/ (README links them);
// without, it takes them and checks them, but leaves the tree as it was.
func TestWebPanel(t *testing.T) {
	requireE2E(t)
	browser, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is missing: run tests/deps.sh")
		}
		t.Skip("chromium is missing: run tests/deps.sh")
	}
	state := t.TempDir()
	if err := writeFiles(state, map[string]string{
		"overlays/comp/left4dead2/cfg/server.cfg":  "sv_alltalk 1\n",
		"overlays/comp/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=2\n",
		"overlays/maps/left4dead2/cfg/server.cfg":  "sv_pure 0\n",
	}); err != nil {
		t.Fatal(err)
	}
	specText := "port: 27091\noverlays:\n  - comp\n  - {path: maps, alias: maps}\nconfig:\n  - sv_cheats 0\n"
	c := bootStoreHost(t, state, map[string]string{"etc/left4me/instances/srv.yaml": specText,
		"etc/left4me/instances/down.yaml": "port: 27092\nschedule: {backup: daily}\n",
		// The stand-in steamcmd, for the panel's game update: the
		// panel reads update.env as left4me-update.service does.
		"etc/left4me/update.env": "LEFT4ME_STEAMCMD=/opt/steamcmd/steamcmd\n"})
	c.MustRun(t, "left4me", "web", "user", "add", "alice", "--role", "admin")
	c.MustRun(t, "left4me", "web", "user", "add", "vic", "--role", "viewer")

	// The container has its own network: a port here reaches the panel's
	// 127.0.0.1:9780 there, one connection into its namespace each. The
	// browser names that port in its Host header: it is the panel's
	// public address (--url), as a reverse proxy's would be.
	base := proxyInto(t, c, "127.0.0.1:9780")
	if err := writeFiles(c.Root, map[string]string{"etc/systemd/system/left4me-web.service.d/url.conf": "[Service]\nExecStart=\nExecStart=/usr/lib/left4me/left4me-web --url " + base + "\n"}); err != nil {
		t.Fatal(err)
	}
	c.MustRun(t, "systemctl", "daemon-reload")
	// As README's "Web panel" says.
	c.MustRun(t, "systemctl", "enable", "--now", "left4me-web.socket")
	if st := strings.TrimSpace(c.MustRun(t, "systemctl", "is-enabled", "left4me-web.socket")); st != "enabled" {
		t.Errorf("left4me-web.socket is %s after enable --now", st)
	}
	link := func(user string) string {
		return strings.TrimSpace(c.MustRun(t, "left4me", "web", "login", "--url", base, user))
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.NoSandbox, // root in a test host; the page is ours
		chromedp.WindowSize(1280, 860), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first run starts the browser, which lives as long as its
	// context: no timeout on that one.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 5*time.Minute)
	defer cancel()
	failed := func(what string, err error) {
		t.Helper()
		page, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("%s: %v\nthe page:\n%s\nleft4me-web's journal:\n%s", what, err, page, c.Journal(t, "left4me-web.service"))
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			failed(what, err)
		}
	}
	eval := func(what, expr string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			failed(what, err)
		}
		return n
	}
	// until waits for a condition on the page (JavaScript, run by the
	// test through DevTools, not by the page).
	until := func(what, expr string) {
		t.Helper()
		// A click that submits a form navigates while the poll runs in
		// the page it leaves: then poll the new page.
		for range 10 {
			_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(90*time.Second)))
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "navigated") && !strings.Contains(err.Error(), "context") {
				failed(what, err)
			}
		}
		t.Fatalf("%s: the page kept navigating", what)
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		var err error
		// The page re-renders parts of itself while it refreshes: a node
		// found may be replaced before its text is read (CDP's "No node
		// with given id found"), so such a read is tried again.
		for range 5 {
			if s, err = chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel))); err == nil || !strings.Contains(err.Error(), "No node with given id") {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			failed("read "+sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		eval("scroll up", `(() => { window.scrollTo(0, 0); return 0; })()`)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			failed("screenshot "+name, err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1024 {
			t.Fatalf("screenshot %s: not a PNG of a page (%d bytes)", name, len(png))
		}
		if !*screenshots {
			return
		}
		if err := os.WriteFile(filepath.Join(repoRoot(t), "docs", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Log in with the link.
	alice := link("alice")
	run("log in", chromedp.Navigate(alice), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#instances")))
	if who := text("#who"); who != "alice (admin)" {
		t.Fatalf("logged in as %q", who)
	}

	// The spec editor: a mistake is shown on its line.
	run("editor", chromedp.Navigate(base+"/spec/srv"), chromedp.WaitVisible(chromedp.CSS("#expose-0")))
	badLine := strings.Count(specText, "\n") + 1
	eval("type a mistake", fmt.Sprintf(`(() => { const t = document.getElementById("text");
		t.value = %s; t.dispatchEvent(new Event("input")); return 0; })()`, strconv.Quote(specText+"bogus: 1\n")))
	sel := fmt.Sprintf(`#notes [data-line="%d"]`, badLine)
	until("the message on its line", fmt.Sprintf(`document.querySelector(%q)?.textContent.includes("srv.yaml:%d:1: bogus: unknown key")`, sel, badLine))
	if cls := text(sel); !strings.Contains(cls, "srv.yaml:"+strconv.Itoa(badLine)+":1:") {
		t.Fatalf("line %d says %q", badLine, cls)
	}
	for l := 1; l < badLine; l++ {
		if s := text(fmt.Sprintf(`#notes [data-line="%d"]`, l)); s != "" {
			t.Errorf("line %d, which is fine, says %q", l, s)
		}
	}
	shot("web-spec-editor.png")
	// Fix it; tick comp's expose box: the preview gains its exec line,
	// lowest overlay first (maps is below comp).
	eval("fix it", fmt.Sprintf(`(() => { const t = document.getElementById("text");
		t.value = %s; t.dispatchEvent(new Event("input")); return 0; })()`, strconv.Quote(specText)))
	until("no message", `document.querySelectorAll("#notes .bad").length === 0`)
	if p := text("#preview"); !strings.HasPrefix(p, "exec server_maps   # auto\nsv_cheats 0") {
		t.Fatalf("preview before: %q", p)
	}
	run("tick expose", chromedp.Click(chromedp.CSS("#expose-0")))
	until("the preview changes", `document.getElementById("preview").textContent.includes("exec server_comp")`)
	if p := text("#preview"); !strings.HasPrefix(p, "exec server_maps   # auto\nexec server_comp   # auto\nsv_cheats 0") {
		t.Fatalf("preview after ticking comp: %q", p)
	}
	// Render shows the editor's text, not yet saved: comp's exec line is
	// in it while the saved spec has no alias for comp.
	run("render unsaved", chromedp.Click(chromedp.CSS("#render")))
	until("the unsaved render", `document.getElementById("result").textContent.includes("(not saved)")`)
	if r := text("#result"); !strings.Contains(r, "exec server_comp") || !strings.Contains(r, "server_comp.cfg") {
		t.Fatalf("render of the unsaved text:\n%s", r)
	}
	if got := c.MustRun(t, "cat", "/etc/left4me/instances/srv.yaml"); strings.Contains(got, "alias: comp") {
		t.Fatalf("render saved the spec:\n%s", got)
	}
	run("save", chromedp.Click(chromedp.CSS("#save")))
	until("saved", `document.getElementById("result").textContent.startsWith("saved")`)
	if got := c.MustRun(t, "cat", "/etc/left4me/instances/srv.yaml"); !strings.Contains(got, "{path: comp, alias: comp}") {
		t.Fatalf("saved spec:\n%s", got)
	}
	run("render", chromedp.Click(chromedp.CSS("#render")))
	until("the render preview", `document.getElementById("result").textContent.includes("what a start would do")`)

	// Start from the browser and see it become active.
	run("instance page", chromedp.Navigate(base+"/i/srv"), chromedp.WaitVisible(chromedp.CSS("#start")))
	run("start", chromedp.Click(chromedp.CSS("#start")))
	until("active", `document.getElementById("state")?.textContent === "active"`)
	if out, err := c.Run(t, "systemctl", "is-active", "l4d2@srv.service"); strings.TrimSpace(out) != "active" {
		t.Fatalf("l4d2@srv: %q %v", out, err)
	}
	until("its map and players", `document.getElementById("map")?.textContent !== "" && document.querySelectorAll("#players tbody tr").length === 2`)

	// The console: the answer comes back, markup in it stays text.
	run("console", chromedp.SendKeys(chromedp.CSS("#cmd"), "say "+hostileText), chromedp.Click(chromedp.CSS("#console button")))
	until("the answer", fmt.Sprintf(`document.getElementById("console-out").textContent.includes(%q)`, "Console: "+hostileText))
	imgs := eval("count images", `document.querySelectorAll("img").length`)
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		failed("title", err)
	}
	if imgs != 0 || title == "pwned" {
		t.Fatalf("hostile text became markup: %d img, title %q", imgs, title)
	}
	// The live output (the server's lines as they come) shows it as text.
	until("the line in the live output", fmt.Sprintf(`document.getElementById("stream").textContent.includes(%q)`, "Console: "+hostileText))
	// The log pane (the server's lines, from the journal) shows it as text too.
	until("the line in the log", fmt.Sprintf(`document.getElementById("logs").textContent.includes(%q)`, hostileText))
	if eval("count images", `document.querySelectorAll("img").length`) != 0 {
		t.Fatalf("hostile log line became markup")
	}
	// Back up now (an operator's action): a backup lands in backups/srv
	// and the backups page lists it.
	run("back up", chromedp.Click(chromedp.CSS("#backup")))
	until("the backup is done", `[...document.querySelectorAll("#jobs li")].some(li => li.textContent.includes("left4me backup srv — done"))`)
	ids := strings.Fields(c.MustRun(t, "sh", "-c", "cd /var/lib/left4me/backups/srv && ls *.tar.gz"))
	if len(ids) != 1 {
		t.Fatalf("backups of srv after Back up now: %q", ids)
	}
	shot("web-instance.png")
	run("backups page", chromedp.Navigate(base+"/backups"), chromedp.WaitVisible(chromedp.CSS("pre.out")))
	if got := text("pre.out"); !strings.Contains(got, "== srv") || !strings.Contains(got, strings.TrimSuffix(ids[0], ".tar.gz")) {
		t.Fatalf("the backups page does not list %s:\n%s", ids[0], got)
	}
	run("instances", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#instances")))
	until("the list shows it active", `document.querySelector('#instances tr[data-name="srv"] .state')?.textContent.startsWith("active")`)
	shot("web-instances.png")

	// The game's and the overlays' status.
	run("game", chromedp.Navigate(base+"/game"), chromedp.WaitVisible(chromedp.CSS("#status")))
	if st := text("#status"); !strings.Contains(st, "100") {
		t.Errorf("the game page does not show build 100:\n%s", st)
	}
	shot("web-game.png")
	// Schedules (timers run only with their server: down's is inactive)
	// and, for an admin, a test alert (no alerts.yaml here: it says so).
	run("schedules", chromedp.Navigate(base+"/dayops"), chromedp.WaitVisible(chromedp.CSS("#schedules")))
	if row := text(`#schedules tr[data-name="down"]`); !strings.Contains(row, "daily") || !strings.Contains(row, "inactive") {
		t.Errorf("the schedules page shows down as %q", row)
	}
	run("test alert", chromedp.Click(chromedp.CSS("#alert-test")), chromedp.WaitVisible(chromedp.CSS("#alert-result")))
	if r := text("#alert-result"); !strings.Contains(r, "alerts.yaml") {
		t.Errorf("the test alert says %q", r)
	}
	run("overlays", chromedp.Navigate(base+"/overlays"), chromedp.WaitVisible(chromedp.CSS("#status")))
	if st := text("#status"); !strings.Contains(st, "comp") {
		t.Errorf("the overlays page does not show comp:\n%s", st)
	}
	// The game and overlay commands run in the sandboxed service: an
	// update writes a new version into the state tree and mounts its
	// stage, gc removes versions.
	run("overlays gc", chromedp.Click(chromedp.CSS("#gc")))
	until("overlays gc ran", `document.getElementById("jobs")?.textContent.includes("left4me overlay gc — done")`)
	depot(t, c, "101", "v101", nil)
	// The update runs as left4me-update.service (outside the panel's
	// sandbox), and the page follows its output.
	run("game update", chromedp.Navigate(base+"/game"), chromedp.WaitVisible(chromedp.CSS("#update")), chromedp.Click(chromedp.CSS("#update")))
	until("game update ran", `/left4me game update --service — (done|failed)/.test(document.getElementById("jobs")?.textContent ?? "")`)
	if j := text("#jobs"); !strings.Contains(j, "left4me game update --service — done") || !strings.Contains(j, "updated to build 101") {
		t.Fatalf("the game update from the panel:\n%s", j)
	}
	if j, _ := c.Run(t, "journalctl", "-u", "left4me-update.service", "--no-pager", "-o", "cat"); !strings.Contains(j, "updated to build 101") {
		t.Errorf("the panel's update did not run as left4me-update.service:\n%s", j)
	}
	run("game gc", chromedp.Click(chromedp.CSS("#gc")))
	until("game gc ran", `/left4me game gc — (done|failed)/.test(document.getElementById("jobs")?.textContent ?? "")`)
	if j := text("#jobs"); !strings.Contains(j, "left4me game gc — done") || strings.Contains(j, "read-only file system") {
		t.Fatalf("the game gc from the panel:\n%s", j)
	}

	// The link is refused the second time.
	run("reuse the link", chromedp.Navigate(alice), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#message")))
	if msg := text("#message"); !strings.Contains(msg, "used already or expired") {
		t.Fatalf("second use of the link: %q", msg)
	}

	// A viewer sees the Stop button, but the server refuses the stop.
	run("log in as viewer", chromedp.Navigate(base+"/"), chromedp.Navigate(link("vic")), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#instances")))
	run("viewer stops", chromedp.Navigate(base+"/i/srv"), chromedp.WaitVisible(chromedp.CSS("#stop")), chromedp.Click(chromedp.CSS("#stop")))
	until("refused", `document.body.textContent.includes("needs the role operator; you are viewer")`)
	if out, _ := c.Run(t, "systemctl", "is-active", "l4d2@srv.service"); strings.TrimSpace(out) != "active" {
		t.Fatalf("a viewer stopped the server: %q", out)
	}

	// An operator stops it when empty, within a deadline, then anyway: the
	// two players are warned on the console first.
	c.MustRun(t, "left4me", "web", "user", "add", "olga", "--role", "operator")
	run("log in as operator", chromedp.Navigate(link("olga")), chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#instances")))
	// "When empty" is ticked to begin with; unticked, a stop of a server
	// with players is refused unless asked to kick them.
	run("stop at once", chromedp.Navigate(base+"/i/srv"), chromedp.WaitVisible(chromedp.CSS("#stop")),
		chromedp.Click(chromedp.CSS("#when_empty")), chromedp.Click(chromedp.CSS("#stop")))
	until("refused at once", `document.body.textContent.includes("srv has 2 player(s) on it: tick")`)
	if out, _ := c.Run(t, "systemctl", "is-active", "l4d2@srv.service"); strings.TrimSpace(out) != "active" {
		t.Fatalf("a stop with players on went ahead unasked: %q", out)
	}
	run("stop when empty", chromedp.Navigate(base+"/i/srv"), chromedp.WaitVisible(chromedp.CSS("#stop")),
		chromedp.SetValue(chromedp.CSS(`input[name="deadline"]`), "3s"),
		chromedp.Click(chromedp.CSS(`input[name="force"]`)), chromedp.Click(chromedp.CSS("#stop")))
	until("stopped", `document.getElementById("state")?.textContent === "inactive"`)
	if j := text("#jobs"); !strings.Contains(j, "olga: left4me stop --when-empty --deadline 3s --force srv") || !strings.Contains(j, "done") {
		t.Errorf("the stop's record:\n%s", j)
	}
	if j := c.Journal(t, "l4d2@srv.service"); !strings.Contains(j, "Console: This server goes down for maintenance") {
		t.Errorf("the players were not warned:\n%s", j)
	}

	// Every change is in the journal with the user's name.
	j := c.Journal(t, "left4me-web.service")
	for _, want := range []string{"web: user alice (admin): saved the spec of srv", "web: user alice (admin): left4me start srv",
		"web: user alice (admin): left4me send srv", "web: user vic (viewer): refused POST /i/srv/action: needs role operator",
		"web: user olga (operator): left4me stop --when-empty --deadline 3s --force srv: done"} {
		if !strings.Contains(j, want) {
			t.Errorf("journal lacks %q:\n%s", want, j)
		}
	}
}

// proxyInto serves a host port that leads to addr in the container's
// network namespace, and returns its http:// base URL.
func proxyInto(t *testing.T, c *Container, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer down.Close()
				var up net.Conn
				var derr error
				if err := c.ct.Netns(func() { up, derr = net.Dial("tcp", addr) }); err != nil || derr != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, down); up.Close() }()
				_, _ = io.Copy(down, up)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}
