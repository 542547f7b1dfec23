package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Day-2 operations (issue 27) on real systemd: backups of what a server
// wrote, taken while it runs, restored through the restart's rollout.
func TestBackups(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	// The server has 3 players (the stand-in reads standin.env).
	if err := writeFiles(state, map[string]string{"overlays/busy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=3\n"}); err != nil {
		t.Fatal(err)
	}
	c := bootStoreHost(t, state, map[string]string{
		"etc/left4me/instances/srv.yaml": "port: 27061\noverlays: [busy]\n",
	})
	const merged = "/var/lib/left4me/runtime/srv/merged/left4dead2"
	const db = merged + "/addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3"
	backups := filepath.Join(c.State, "backups", "srv")
	ids := func(t *testing.T) []string {
		t.Helper()
		var out []string
		ents, _ := os.ReadDir(backups)
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	c.MustRun(t, "left4me", "start", "srv")
	// What the server writes goes through the overlay into its upper layer.
	c.MustRun(t, "sh", "-c", "mkdir -p "+filepath.Dir(db)+" && printf 'SQLite format 3 first' >"+db+
		" && ln -s /etc/shadow "+merged+"/shadow && mkdir -p "+merged+"/logs")

	t.Run("backup while the server runs and writes its log", func(t *testing.T) {
		c.MustRun(t, "systemd-run", "--unit=appender", "sh", "-c", "while :; do echo L line >>"+merged+"/logs/L1205000.log; done")
		defer c.Run(t, "systemctl", "stop", "appender")
		out := c.MustRun(t, "left4me", "backup", "srv")
		if !strings.Contains(out, "srv: backup ") {
			t.Fatalf("backup:\n%s", out)
		}
		got := ids(t)
		if len(got) != 1 || !strings.HasSuffix(got[0], ".tar.gz") {
			t.Fatalf("backups: %v", got)
		}
		path := "/var/lib/left4me/backups/srv/" + got[0]
		if st := c.MustRun(t, "stat", "-c", "%a %U", path, "/var/lib/left4me/backups/srv"); st != "600 root\n700 root\n" {
			t.Errorf("modes and owners:\n%s", st)
		}
		list := c.MustRun(t, "tar", "-tvzf", path)
		if !strings.Contains(list, "left4dead2/shadow -> /etc/shadow") || !strings.Contains(list, "clientprefs-sqlite.sq3") ||
			!strings.Contains(list, "left4dead2/logs/L1205000.log") || strings.Contains(list, "who.txt") {
			t.Errorf("archive holds:\n%s", list)
		}
		if s := c.MustRun(t, "sh", "-c", "tar -xzOf "+path+" left4dead2/shadow | wc -c"); strings.TrimSpace(s) != "0" {
			t.Errorf("the link's target was read: %s bytes", s)
		}
		if out := c.MustRun(t, "left4me", "backups", "srv"); !strings.Contains(out, strings.TrimSuffix(got[0], ".tar.gz")) {
			t.Errorf("backups:\n%s", out)
		}
	})

	t.Run("a file that never stops changing fails the backup, naming it", func(t *testing.T) {
		// Rewritten in place without pause: no copy of its 80 MiB (more
		// than a group copied into memory, backup.DefaultStageMax) can
		// find it the same before and after. (A smaller file is copied
		// again between two writes, a few milliseconds apart, and that
		// copy is the file at one moment, which is fine.)
		c.MustRun(t, "systemd-run", "--unit=rewriter", "sh", "-c",
			"while :; do dd if=/dev/urandom of="+merged+"/churn.txt bs=1M count=80 conv=notrunc status=none; done")
		// Whole once: while its first pass still appends, the file only
		// grows, and a backup then rightly takes what it held when its
		// copy began (a fast disk let one start in that window).
		c.WaitFor(t, "the rewriter's file written whole", 10*time.Second, func() bool {
			out, _ := c.Run(t, "stat", "-c", "%s", merged+"/churn.txt")
			return strings.TrimSpace(out) == "83886080"
		})
		out, err := c.Run(t, "left4me", "backup", "srv")
		c.Run(t, "systemctl", "stop", "rewriter")
		if err == nil || !strings.Contains(err.Error(), "upper/left4dead2/churn.txt: changed while it was copied") {
			t.Errorf("backup of a churning file: %v\n%s", err, out)
		}
		for _, n := range ids(t) {
			if !strings.HasSuffix(n, ".tar.gz") || strings.HasPrefix(n, ".") {
				t.Errorf("left behind in %s: %s", backups, n)
			}
		}
		c.MustRun(t, "rm", "-f", merged+"/churn.txt")
	})

	t.Run("a scheduled backup stopped (a shutdown) finishes first and is not failed", func(t *testing.T) {
		// 256 MiB that gzip cannot shrink: seconds of work under way.
		c.MustRun(t, "dd", "if=/dev/urandom", "of="+merged+"/big.bin", "bs=1M", "count=256", "status=none")
		defer c.MustRun(t, "rm", "-f", merged+"/big.bin")
		before := ids(t)
		const unit = "left4me-backup@srv.service"
		c.MustRun(t, "systemctl", "start", "--no-block", unit)
		c.WaitFor(t, "the backup to run", 10*time.Second, func() bool {
			out, _ := c.Run(t, "systemctl", "show", "-p", "ActiveState", "--value", unit)
			return strings.TrimSpace(out) == "activating"
		})
		c.MustRun(t, "systemctl", "stop", unit) // waits for it
		if st := c.MustRun(t, "systemctl", "show", "-p", "ActiveState", "-p", "Result", unit); !strings.Contains(st, "ActiveState=inactive") || !strings.Contains(st, "Result=success") {
			t.Errorf("the stopped backup's unit:\n%s", st)
		}
		got := ids(t)
		if len(got) != len(before)+1 {
			t.Errorf("backups %v, were %v: the stop did not wait for the backup", got, before)
		}
		// The subtests below count the backups.
		for _, n := range got {
			if !slices.Contains(before, n) {
				if err := os.Remove(filepath.Join(backups, n)); err != nil {
					t.Fatal(err)
				}
			}
		}
	})

	t.Run("restore of a running server: when empty waits, else stopped, put back, started", func(t *testing.T) {
		c.MustRun(t, "sh", "-c", "printf 'SQLite format 3 second' >"+db)
		pid := mainPID(t, c, "srv")
		out, err := c.Run(t, "left4me", "restore", "srv", "--yes", "--when-empty", "--deadline", "0")
		if err == nil || !strings.Contains(err.Error(), "left running: srv") {
			t.Errorf("restore --when-empty of an occupied server: %v\n%s", err, out)
		}
		if mainPID(t, c, "srv") != pid || c.MustRun(t, "cat", db) != "SQLite format 3 second" {
			t.Fatalf("the occupied server was touched")
		}
		// A script's --yes alone kicks nobody: its 3 players stay.
		if out, err := c.Run(t, "left4me", "restore", "srv", "--yes"); err == nil || !strings.Contains(err.Error(), "srv has 3 player(s) on it now") || mainPID(t, c, "srv") != pid {
			t.Errorf("restore --yes of an occupied server: %v\n%s", err, out)
		}
		// With --force at a deadline they are warned, then it goes ahead.
		out = c.MustRun(t, "left4me", "restore", "srv", "--yes", "--when-empty", "--deadline", "1s", "--force")
		if !strings.Contains(out, "srv: restored backup") || !strings.Contains(out, "(before restore)") {
			t.Errorf("restore:\n%s", out)
		}
		if got := c.MustRun(t, "cat", db); got != "SQLite format 3 first" {
			t.Errorf("after the restore the server sees %q", got)
		}
		if mainPID(t, c, "srv") == pid {
			t.Errorf("not restarted")
		}
		query(t, c, 27061)
		if n := len(ids(t)); n != 2 {
			t.Errorf("%d backups, want the first and the one before the restore", n)
		}
		// Again: the same backup, not the one the first restore took
		// (that would undo it); that one says how to undo.
		out = c.MustRun(t, "left4me", "restore", "srv", "--yes", "--when-empty", "--deadline", "1s", "--force")
		if got := c.MustRun(t, "cat", db); got != "SQLite format 3 first" {
			t.Errorf("the second restore put back %q", got)
		}
		if !strings.Contains(out, "to undo the restore: left4me restore srv ") {
			t.Errorf("restore:\n%s", out)
		}
		if out := c.MustRun(t, "left4me", "backups", "srv"); strings.Count(out, " restore\n") != 2 {
			t.Errorf("backups:\n%s", out)
		}
		query(t, c, 27061)
	})

	t.Run("an interrupted restart leaves the server as it was and says so", func(t *testing.T) {
		pid := mainPID(t, c, "srv")
		// Ctrl-C while it waits for the 3 players to leave.
		out, _ := c.Run(t, "sh", "-c", "timeout --preserve-status -s INT 3 left4me restart srv --when-empty --deadline 5m 2>&1; echo exit $?")
		if !strings.Contains(out, "left4me: interrupted; not restarted (left as they were): srv\n") || !strings.HasSuffix(out, "exit 130\n") || strings.Contains(out, "context canceled") {
			t.Errorf("interrupted restart:\n%s", out)
		}
		if mainPID(t, c, "srv") != pid {
			t.Errorf("the server was restarted")
		}
		// A restore, as it waits: nothing restored, and said so.
		out, _ = c.Run(t, "sh", "-c", "timeout --preserve-status -s INT 3 left4me restore srv --yes --when-empty --deadline 5m 2>&1; echo exit $?")
		if !strings.Contains(out, "left4me: interrupted: nothing was restored; srv was left as it was\n") || !strings.HasSuffix(out, "exit 130\n") {
			t.Errorf("interrupted restore:\n%s", out)
		}
		if mainPID(t, c, "srv") != pid {
			t.Errorf("the server was restarted")
		}
	})

	t.Run("a backup that cannot fit stops nothing", func(t *testing.T) {
		// srv's backups on a filesystem too small for the next one (a
		// tmpfs over its directory, in the container alone), and
		// something in its upper layer gzip cannot shrink.
		const dir = "/var/lib/left4me/backups/srv"
		c.MustRun(t, "mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir)
		defer c.Run(t, "umount", dir)
		c.MustRun(t, "sh", "-c", "head -c 2097152 /dev/urandom >"+merged+"/demo.dem")
		defer c.Run(t, "rm", "-f", merged+"/demo.dem")
		pid := mainPID(t, c, "srv")
		out, err := c.Run(t, "left4me", "reset", "srv", "--yes", "--force")
		if err == nil || !strings.Contains(err.Error(), "srv: not enough free space for the backup reset takes first") ||
			!strings.Contains(err.Error(), "on the filesystem of "+dir+", which has ") || !strings.Contains(err.Error(), "(--no-backup)") {
			t.Errorf("reset with no room for its backup: %v\n%s", err, out)
		}
		if mainPID(t, c, "srv") != pid {
			t.Errorf("the server was stopped")
		}
		if got := c.MustRun(t, "ls", "-A", dir); got != "" {
			t.Errorf("written to %s: %s", dir, got)
		}
		query(t, c, 27061)
	})

	t.Run("reset backs up first; restore brings the data back", func(t *testing.T) {
		// Its 3 players are not kicked by a script's --yes alone.
		pid := mainPID(t, c, "srv")
		if out, err := c.Run(t, "left4me", "reset", "srv", "--yes"); err == nil || !strings.Contains(err.Error(), "srv has 3 player(s) on it now") || mainPID(t, c, "srv") != pid {
			t.Errorf("reset --yes of an occupied server: %v\n%s", err, out)
		}
		out := c.MustRun(t, "left4me", "reset", "srv", "--yes", "--force")
		if !strings.Contains(out, "(before reset)") {
			t.Errorf("reset:\n%s", out)
		}
		if _, err := c.Run(t, "test", "-e", db); err == nil {
			t.Fatalf("reset kept the database")
		}
		c.MustRun(t, "left4me", "restore", "srv", "--yes", "--no-backup", "--when-empty", "--deadline", "1s", "--force")
		if got := c.MustRun(t, "cat", db); got != "SQLite format 3 first" {
			t.Errorf("after reset and restore: %q", got)
		}
		query(t, c, 27061)
		c.MustRun(t, "left4me", "reset", "srv", "--yes", "--force", "--no-backup")
		// The first, the newest a restore took (the older went with the
		// backup before the reset) and that one: --no-backup takes none.
		if n := len(ids(t)); n != 3 {
			t.Errorf("%d backups, want 3", n)
		}
	})

	t.Run("retention by count", func(t *testing.T) {
		c.MustRun(t, "left4me", "backup", "srv", "--keep", "1")
		if n := len(ids(t)); n != 1 {
			t.Errorf("%d backups after --keep 1: %v", n, ids(t))
		}
	})
}

// webhook is a chat webhook on the container's loopback: it keeps what
// it is sent.
type webhook struct {
	mu     sync.Mutex
	bodies []map[string]any
	ln     net.Listener
}

func startWebhook(t *testing.T, c *Container, addr string) *webhook {
	t.Helper()
	w := &webhook{}
	c.Netns(t, func() {
		var err error
		if w.ln, err = net.Listen("tcp", addr); err != nil {
			t.Fatal(err)
		}
	})
	go http.Serve(w.ln, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if json.Unmarshal(b, &m) != nil || r.URL.Path != "/api/webhooks/1/s3cret" {
			rw.WriteHeader(http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.bodies = append(w.bodies, m)
		w.mu.Unlock()
	}))
	t.Cleanup(func() { w.ln.Close() })
	return w
}

// has reports whether a message containing text came.
func (w *webhook) has(text string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range w.bodies {
		if s, _ := b["content"].(string); strings.Contains(s, text) && b["text"] == s {
			return true
		}
	}
	return false
}

// Alerts on real systemd: a test event; a crash loop and a start its
// helper refused, told by the OnFailure= unit; a webhook that is down is
// in that unit's journal, without its URL.
func TestAlerts(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	if err := writeFiles(state, map[string]string{
		"overlays/crash/left4dead2/cfg/standin_crash": "",
		"overlays/crash/left4dead2/cfg/standin.env":   "",
		// Answers, then goes silent while its process lives on.
		"overlays/hang/left4dead2/cfg/standin.env": "STANDIN_HANG_AFTER=3s\n",
	}); err != nil {
		t.Fatal(err)
	}
	c := bootStoreHost(t, state, map[string]string{
		"etc/left4me/instances/crash.yaml":   "port: 27071\noverlays: [crash]\n",
		"etc/left4me/instances/refused.yaml": "port: 27072\noverlays: [missing]\n",
		"etc/left4me/alerts.yaml":            "webhook: http://127.0.0.1:18765/api/webhooks/1/s3cret\ncommand: /usr/local/bin/page\n",
		"usr/local/bin/page":                 "#!/bin/sh\ncat >>/run/events.jsonl; echo >>/run/events.jsonl\n",
		"etc/left4me/instances/hang.yaml":    "port: 27073\nhang_timeout: 10\noverlays: [hang]\n",
		"etc/left4me/overlays/bad.yaml":      "builder: bad.sh\n",
		"etc/left4me/overlays/bad.sh":        "echo building; exit 3\n",
	})
	c.MustRun(t, "chmod", "0755", "/usr/local/bin/page")
	w := startWebhook(t, c, "127.0.0.1:18765")

	t.Run("test", func(t *testing.T) {
		out := c.MustRun(t, "left4me", "alert", "test")
		if !strings.Contains(out, "sent by webhook (127.0.0.1:18765)") || !strings.Contains(out, "sent by command /usr/local/bin/page") {
			t.Errorf("alert test:\n%s", out)
		}
		if !w.has("test alert from left4me alert test") {
			t.Errorf("the webhook got %v", w.bodies)
		}
		if ev := c.MustRun(t, "cat", "/run/events.jsonl"); !strings.Contains(ev, `"event":"test"`) {
			t.Errorf("the command read %s", ev)
		}
	})

	// The command runs as root: one that others could change (the file,
	// or a directory above it, writable by others) is not run.
	t.Run("a command others can change is not run", func(t *testing.T) {
		for _, p := range []string{"/usr/local/bin/page", "/usr/local/bin"} {
			mode := c.MustRun(t, "stat", "-c", "%a", p)
			c.MustRun(t, "chmod", "0777", p)
			before := c.MustRun(t, "cat", "/run/events.jsonl")
			out, err := c.Run(t, "left4me", "alert", "test")
			if err == nil || !strings.Contains(err.Error(), "not run: "+p+" is owned by uid 0 with mode 777") {
				t.Errorf("%s writable by others: %v\n%s", p, err, out)
			}
			if after := c.MustRun(t, "cat", "/run/events.jsonl"); after != before {
				t.Errorf("the command ran with %s writable by others", p)
			}
			c.MustRun(t, "chmod", strings.TrimSpace(mode), p)
		}
		c.MustRun(t, "left4me", "alert", "test") // as before
	})

	t.Run("a crash loop and a refused start, once systemd gives up", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "--no-block", "l4d2@crash.service", "l4d2@refused.service")
		defer func() {
			if t.Failed() {
				t.Logf("the webhook got %v\n%s", w.bodies, c.MustRun(t, "systemctl", "show", "-p", "Result", "-p", "NRestarts", "-p", "ActiveState", "l4d2@crash.service", "l4d2@refused.service"))
			}
		}()
		c.WaitFor(t, "the crash loop's alert", 2*time.Minute, func() bool { return w.has("crash kept crashing (exit-code): systemd gave up restarting it") })
		c.WaitFor(t, "the refused start's alert", time.Minute, func() bool { return w.has("refused: its start helper refused to start it") })
		if !w.has("overlays/missing") {
			t.Errorf("the refusal's reason is not in the alert: %v", w.bodies)
		}
		w.mu.Lock()
		all, _ := json.Marshal(w.bodies)
		w.mu.Unlock()
		if strings.Contains(string(all), "s3cret") {
			t.Errorf("the webhook's secret reached a payload: %s", all)
		}
	})

	t.Run("a hang kill the restart recovers from", func(t *testing.T) {
		c.MustRun(t, "left4me", "start", "hang")
		c.WaitFor(t, "the hang kill's alert", time.Minute, func() bool {
			return w.has("hang stopped answering queries: the watchdog killed it; systemd restarts it")
		})
		c.MustRun(t, "left4me", "stop", "hang")
	})

	t.Run("an overlay build that failed", func(t *testing.T) {
		if out, err := c.Run(t, "left4me", "overlay", "build", "bad"); err == nil {
			t.Fatalf("the build did not fail:\n%s", out)
		}
		if !w.has("overlay build of bad failed; the current version stays") {
			t.Errorf("the webhook got %v", w.bodies)
		}
	})

	// left4me-retry@ starts the crash loop and the refused start again and
	// again, and each fails anew: the same alert within repeat_after (4h
	// by default) is held back, a line in its unit's journal each, and
	// reaches none of the ways.
	t.Run("the same alert again is held back", func(t *testing.T) {
		c.WaitFor(t, "crash failed (not in a retry's loop)", 2*time.Minute, func() bool { return unitState(t, c, "crash") == "failed" })
		limits := func() int {
			w.mu.Lock()
			n := 0
			for _, b := range w.bodies {
				if s, _ := b["content"].(string); strings.Contains(s, "crash kept crashing") {
					n++
				}
			}
			w.mu.Unlock()
			return n + strings.Count(c.MustRun(t, "cat", "/run/events.jsonl"), `"event":"start-limit"`)
		}
		before := limits()
		c.MustRun(t, "systemctl", "start", "left4me-alert@crash.service") // as OnFailure= does
		if j := c.Journal(t, "left4me-alert@crash.service"); !strings.Contains(j, "alert start-limit held back: the same went out at ") || !strings.Contains(j, "less than repeat_after (4h0m0s, alerts.yaml) ago;") {
			t.Errorf("journal of left4me-alert@crash:\n%s", j)
		}
		if after := limits(); after != before {
			t.Errorf("sent again within repeat_after: %d start-limit alerts delivered, were %d", after, before)
		}
		if out := c.MustRun(t, "stat", "-c", "%U %a", "/run/left4me/alerts"); strings.TrimSpace(out) != "root 700" {
			t.Errorf("/run/left4me/alerts: %s", out)
		}
		// With repeat_after: 0 each goes (the test below).
		c.MustRun(t, "sh", "-c", "echo 'repeat_after: 0' >>/etc/left4me/alerts.yaml")
	})

	t.Run("a webhook that is down: the journal says so, nothing else breaks", func(t *testing.T) {
		w.ln.Close()
		out, err := c.Run(t, "left4me", "alert", "test")
		if err == nil || !strings.Contains(err.Error(), "alert by webhook (127.0.0.1:18765)") || strings.Contains(err.Error(), "s3cret") ||
			!strings.Contains(out, "sent by command") {
			t.Errorf("alert test with the webhook down: %v\n%s", err, out)
		}
		c.MustRun(t, "systemctl", "start", "left4me-alert@crash.service") // as OnFailure= does
		j := c.Journal(t, "left4me-alert@crash.service")
		if !strings.Contains(j, "alert start-limit: alert by webhook (127.0.0.1:18765)") || !strings.Contains(j, "alert start-limit sent by command") || strings.Contains(j, "s3cret") {
			t.Errorf("journal of left4me-alert@crash:\n%s", j)
		}
	})
}

// promtoolCheck runs Debian's promtool on exposition text.
func promtoolCheck(t *testing.T, text string) {
	t.Helper()
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, text)
	}
}

// Metrics on real systemd: left4me metrics, and the socket-activated
// exporter on 127.0.0.1:9788, both as promtool accepts them.
func TestMetrics(t *testing.T) {
	requireE2E(t)
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Fatal("promtool is missing: run tests/deps.sh")
	}
	state := t.TempDir()
	if err := writeFiles(state, map[string]string{"overlays/busy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=3\n",
		// Empty, so hibernating: silent to A2S (Source-1-Games#3611).
		"overlays/hibernate/left4dead2/cfg/standin.env": "STANDIN_HIBERNATE=1\n"}); err != nil {
		t.Fatal(err)
	}
	c := bootStoreHost(t, state, map[string]string{
		"etc/left4me/instances/srv.yaml":    "port: 27081\noverlays: [busy]\n",
		"etc/left4me/instances/down.yaml":   "port: 27082\n",
		"etc/left4me/instances/sleepy.yaml": "port: 27083\noverlays: [hibernate]\n",
	})
	c.MustRun(t, "left4me", "start", "srv", "sleepy")
	c.MustRun(t, "left4me", "backup", "srv")
	out := c.MustRun(t, "left4me", "metrics")
	promtoolCheck(t, out)
	wants := []string{`l4d2_up{instance="srv"} 1`, `l4d2_up{instance="down"} 0`, `l4d2_players{instance="srv"} 3`,
		`l4d2_up{instance="sleepy"} 1`, `l4d2_a2s_up{instance="sleepy"} 0`, `l4d2_a2s_up{instance="srv"} 1`,
		`l4d2_hibernating{instance="sleepy"} 1`, `l4d2_players{instance="sleepy"} 0`, `l4d2_hibernating{instance="srv"} 0`,
		`l4d2_map_info{instance="srv",map="`, `l4d2_restarts_total{instance="srv"} 0`,
		`l4d2_upper_bytes{instance="srv"}`, `l4d2_backup_last_timestamp_seconds{instance="srv"}`,
		`l4d2_a2s_latency_seconds{instance="srv"}`, "l4d2_game_build "}
	// Memory and CPU are the unit's cgroup's: on a host with the unified
	// hierarchy the container's systemd has them; on a hybrid (cgroup v1)
	// host the v1 controllers are the host's, read-only in the container,
	// and no unit in it has its own.
	if _, err := c.Run(t, "test", "-e", "/sys/fs/cgroup/cgroup.controllers"); err == nil {
		wants = append(wants, `l4d2_memory_bytes{instance="srv"}`, `l4d2_cpu_seconds_total{instance="srv"}`)
	} else {
		t.Log("cgroup v1 host: the container's units have no memory or CPU accounting; not checked")
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("left4me metrics lacks %s:\n%s", want, out)
		}
	}
	// players: the hibernating server's console counts; a stopped one is
	// not running (exit 3), not "does not answer".
	if out, err := c.Run(t, "left4me", "players", "sleepy"); err != nil || !strings.Contains(out, "0 player(s), counted by its console") {
		t.Errorf("players of a hibernating server: %v\n%s", err, out)
	}
	if out, err := c.Run(t, "left4me", "players", "down"); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("players of a stopped server: %v\n%s", err, out)
	}
	// list: the hibernating server has nobody on it, as its console said
	// (its relay's status line), though it answers no query; one that
	// answers is counted; a stopped one's count is unknown.
	listed := c.MustRun(t, "left4me", "list")
	for name, want := range map[string]string{"sleepy": " active, hibernating 0 0 ", "srv": " active 3 0 ", "down": " inactive - - "} {
		if row := rowOf(listed, name); !strings.Contains(row, want) {
			t.Errorf("list's row of %s lacks %q:\n%s", name, want, listed)
		}
	}
	if out := c.MustRun(t, "left4me", "status", "sleepy"); !strings.Contains(out, "players:   0: it hibernates, as its console said") {
		t.Errorf("status of a hibernating server:\n%s", out)
	}
	if show := c.MustRun(t, "systemctl", "show", "-p", "StatusText", "l4d2@sleepy.service"); !strings.Contains(show, "StatusText=hibernating: no players") {
		t.Errorf("sleepy's status line: %s", show)
	}
	var rows []struct {
		Name        string `json:"name"`
		Humans      *int   `json:"humans"`
		Hibernating bool   `json:"hibernating"`
	}
	if err := json.Unmarshal([]byte(c.MustRun(t, "left4me", "list", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if hib := r.Name == "sleepy"; r.Hibernating != hib || hib && (r.Humans == nil || *r.Humans != 0) {
			t.Errorf("list --json: %s hibernating %v, humans %v", r.Name, r.Hibernating, r.Humans)
		}
	}

	c.MustRun(t, "systemctl", "start", "left4me-metrics.socket")
	var resp []byte
	c.Netns(t, func() {
		conn, err := net.Dial("tcp", "127.0.0.1:9788")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9788\r\n\r\n")
		resp, _ = io.ReadAll(conn)
	})
	head, body, _ := strings.Cut(string(resp), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.0 200 OK") || !strings.Contains(body, `l4d2_players{instance="srv"} 3`) {
		t.Fatalf("the exporter answered:\n%s", resp)
	}
	promtoolCheck(t, body)
}
