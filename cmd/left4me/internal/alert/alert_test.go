package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"webhook", "webhook: https://discord.com/api/webhooks/1/tok\n", ""},
		{"all", "webhook: http://127.0.0.1:9/x\nformat: generic\ncommand: /usr/local/bin/page\nemail: ops@example.org\nsendmail: /usr/lib/sendmail\n", ""},
		{"unknown key", "webhook: http://h/x\nwebhok: x\n", "alerts.yaml:2:1: webhok: unknown key"},
		{"not a URL", "webhook: discord\n", "alerts.yaml:1:10: webhook: want an http:// or https:// URL"},
		{"relative command", "command: page.sh\n", "alerts.yaml:1:10: command: want an absolute path"},
		{"format", "webhook: http://h/x\nformat: teams\n", "alerts.yaml:2:9: format: want"},
		{"two addresses", "email: a@x, b@y\n", "alerts.yaml:1:8: email: want one address"},
		{"an option for an address", "email: -oQ/tmp@x\n", "email: want one address"},
		{"twice", "command: /a\ncommand: /b\n", "alerts.yaml:2:1: command: given twice"},
		{"list", "webhook: [a]\n", "alerts.yaml:1:10: webhook: want a non-empty string"},
		{"nothing to do", "format: chat\n", "want at least one of webhook, command, email"},
		{"empty", "", "empty"},
		{"repeat_after", "command: /a\nrepeat_after: 30m\n", ""},
		{"repeat_after 0", "command: /a\nrepeat_after: 0\n", ""},
		{"repeat_after without unit", "command: /a\nrepeat_after: 4\n", "alerts.yaml:2:15: repeat_after: want a duration like 4h"},
		{"repeat_after negative", "command: /a\nrepeat_after: -1h\n", "alerts.yaml:2:15: repeat_after: want a duration"},
		// yaml.v3 says "found character that cannot start any token", no line.
		{"tab", "\tcommand: /a\n", "alerts.yaml:1:1: a tab in the indentation; YAML indents with spaces only"},
		{"tab further down", "command: /a\n\temail: a@x\n", "alerts.yaml:2:1: a tab in the indentation"},
		{"not closed", "command: [/a\n", "alerts.yaml:1:1: the [ opened on this line is not closed"},
		{"given empty", "command: /a\nwebhook:\n", "alerts.yaml:2:9: webhook: want a non-empty string"},
		{"only comments", "# webhook: https://h/x\n", "alerts.yaml: empty"},
		{"every problem at once", "format: teams\ncommand: page\n", "alerts.yaml:1:9: format: want \"chat\" (Discord, Slack and compatible) or \"generic\" (the event's JSON)\nalerts.yaml:2:10: command: want an absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("alerts.yaml", []byte(tc.in))
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// A symbolic link is refused in alerts.yaml's words, not a spec's.
func TestLoadRefusesALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yaml")
	os.WriteFile(target, []byte("command: /bin/true\n"), 0o600)
	os.Symlink(target, filepath.Join(dir, File))
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "alerts.yaml must be a regular file") || strings.Contains(err.Error(), "specs") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadRefusesWritable(t *testing.T) {
	dir := t.TempDir()
	if c, err := Load(dir); c != nil || err != nil {
		t.Fatalf("no file: %v %v", c, err)
	}
	p := filepath.Join(dir, File)
	os.WriteFile(p, []byte("command: /bin/true\n"), 0o644)
	os.Chmod(p, 0o666)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not group/world-writable") {
		t.Fatalf("a world-writable alerts.yaml: %v", err)
	}
}

var ev = Event{Kind: HangKill, Instance: "srv1", Host: "eu1", Time: time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC),
	Summary: "srv1 hung and was killed by the watchdog", Detail: "see: left4me logs srv1"}

// Every way gets the event; one that fails does not stop the others, and
// its error does not carry the webhook's secret path.
func TestSend(t *testing.T) {
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &m)
		got = append(got, m)
		if strings.HasSuffix(r.URL.Path, "/down") {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	stdin := filepath.Join(dir, "stdin.json")
	cmd := filepath.Join(dir, "page")
	os.WriteFile(cmd, []byte("#!/bin/sh\ncat >"+stdin+"\n"), 0o755)
	mail := filepath.Join(dir, "mail")
	sendmail := filepath.Join(dir, "sendmail")
	os.WriteFile(sendmail, []byte("#!/bin/sh\necho \"$@\" >"+mail+"\ncat >>"+mail+"\n"), 0o755)

	c := &Config{Webhook: srv.URL + "/api/webhooks/1/secret-token", Format: "chat", Command: cmd, Email: "ops@example.org", Sendmail: sendmail}
	sent, err := Send(context.Background(), c, ev)
	if err != nil || len(sent) != 3 {
		t.Fatalf("sent %v: %v", sent, err)
	}
	if got[0]["content"] != ev.Text() || got[0]["text"] != ev.Text() {
		t.Errorf("chat body %v", got[0])
	}
	var in Event
	b, _ := os.ReadFile(stdin)
	if json.Unmarshal(b, &in) != nil || in != ev {
		t.Errorf("the command read %s", b)
	}
	if m, _ := os.ReadFile(mail); !strings.HasPrefix(string(m), "-i -- ops@example.org\nTo: ops@example.org\r\nSubject: [left4me eu1] srv1 hung") {
		t.Errorf("sendmail got %q", m)
	}

	c = &Config{Webhook: srv.URL + "/secret-token/down", Format: "generic", Command: "/nonexistent/page"}
	sent, err = Send(context.Background(), c, ev)
	if err == nil || len(sent) != 0 || !strings.Contains(err.Error(), "answered 502") || !strings.Contains(err.Error(), "/nonexistent/page") {
		t.Fatalf("sent %v: %v", sent, err)
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("the webhook's URL reached the error: %v", err)
	}
	if got[1]["event"] != HangKill || got[1]["instance"] != "srv1" {
		t.Errorf("generic body %v", got[1])
	}
}

// A command (or sendmail) that others can change is not run as root:
// the file, or a directory above it, writable by group or world.
func TestSendRefusesAWritableCommand(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file, dir os.FileMode
		ran       bool
	}{
		{"root's alone", 0o755, 0o755, true},
		{"world-writable", 0o757, 0o755, false},
		{"group-writable", 0o775, 0o755, false},
		{"in a world-writable directory", 0o755, 0o777, false},
		{"in a sticky directory", 0o755, os.ModeSticky | 0o777, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bin")
			os.Mkdir(dir, 0o755)
			ran := filepath.Join(filepath.Dir(dir), "ran")
			cmd := filepath.Join(dir, "page")
			os.WriteFile(cmd, []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755)
			os.Chmod(cmd, tc.file)
			os.Chmod(dir, tc.dir)
			_, err := Send(context.Background(), &Config{Command: cmd}, ev)
			_, statErr := os.Stat(ran)
			if (statErr == nil) != tc.ran || (err == nil) != tc.ran || !tc.ran && !strings.Contains(err.Error(), "writable by nobody else") {
				t.Errorf("ran %v, err %v", statErr == nil, err)
			}
		})
	}
}

// A command named through a link: run only if the link's own directory
// is safe too (others could point it elsewhere), and then what it leads
// to runs, not the link read again.
func TestSendCommandThroughALink(t *testing.T) {
	for _, open := range []bool{false, true} {
		base := t.TempDir()
		bin, links := filepath.Join(base, "bin"), filepath.Join(base, "links")
		os.Mkdir(bin, 0o755)
		os.Mkdir(links, 0o755)
		ran := filepath.Join(base, "ran")
		os.WriteFile(filepath.Join(bin, "page"), []byte("#!/bin/sh\ntouch "+ran+"\n"), 0o755)
		link := filepath.Join(links, "page")
		os.Symlink(filepath.Join(bin, "page"), link)
		if open {
			os.Chmod(links, 0o777)
		}
		_, err := Send(context.Background(), &Config{Command: link}, ev)
		_, statErr := os.Stat(ran)
		if (statErr == nil) == open || (err == nil) == open || open && !strings.Contains(err.Error(), links+" is owned by uid") {
			t.Errorf("link in a directory others can write %v: ran %v, err %v", open, statErr == nil, err)
		}
	}
}

// A webhook that does not answer is given up on; it never hangs the
// caller, and the error says within how long (the caller's deadline
// here, shorter than Timeout), not "context deadline exceeded".
func TestSendGivesUp(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := Send(ctx, &Config{Webhook: srv.URL + "/tok", Format: "chat"}, ev)
	if err == nil {
		t.Fatal("sent")
	}
	d, ok := strings.CutPrefix(err.Error(), "alert by webhook ("+strings.TrimPrefix(srv.URL, "http://")+"): no answer within ")
	if bound, perr := time.ParseDuration(d); !ok || perr != nil || bound > 100*time.Millisecond || bound < 50*time.Millisecond {
		t.Fatalf("got %v", err)
	}
}

// hang writes a program to a new directory that starts a child
// (recording its PID in pidFile) and waits for it, as a script running
// `sleep 1000` does. A child left over is killed after the test.
func hang(t *testing.T) (prog, pidFile string) {
	t.Helper()
	dir := t.TempDir()
	prog, pidFile = filepath.Join(dir, "hang"), filepath.Join(dir, "pid")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\nsleep 1000 &\necho $! >"+pidFile+"\nwait\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return prog, pidFile
}

// alive reports whether pid runs (a zombie is dead: its reaper may be
// slow, or, in a container, absent).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// A command (or sendmail) that hangs is killed at the timeout with all it
// started: its child does not live on, reparented to PID 1.
func TestSendKillsWhatTheCommandStarted(t *testing.T) {
	for _, tc := range []struct {
		name, way string
		config    func(prog string) *Config
	}{
		{"command", "alert by command ", func(prog string) *Config { return &Config{Command: prog} }},
		{"sendmail", "alert by email to ops@example.org", func(prog string) *Config {
			return &Config{Email: "ops@example.org", Sendmail: prog}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, pidFile := hang(t)
			c := tc.config(prog)
			c.timeout = 300 * time.Millisecond
			_, err := Send(context.Background(), c, ev)
			if err == nil || !strings.Contains(err.Error(), tc.way) || !strings.HasSuffix(err.Error(), ": no answer within 300ms") {
				t.Errorf("got %v", err)
			}
			b, rerr := os.ReadFile(pidFile)
			pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
			if rerr != nil || perr != nil {
				t.Fatalf("the program did not start its child: %v %v", rerr, perr)
			}
			for end := time.Now().Add(2 * time.Second); alive(pid) && time.Now().Before(end); {
				time.Sleep(10 * time.Millisecond)
			}
			if alive(pid) {
				t.Errorf("the child %d still runs after the timeout", pid)
			}
		})
	}
}

// The ways are tried at once: three that hang take one timeout, not
// three; what failed is said in the order webhook, command, email.
func TestSendAtOnce(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	prog, _ := hang(t)
	sendmail, _ := hang(t)
	c := &Config{Webhook: srv.URL + "/secret-token", Format: "chat", Command: prog, Email: "ops@example.org", Sendmail: sendmail,
		timeout: 500 * time.Millisecond}
	start := time.Now()
	sent, err := Send(context.Background(), c, ev)
	if took := time.Since(start); took > 1200*time.Millisecond {
		t.Errorf("took %v: one way after another", took)
	}
	want := "alert by webhook (" + strings.TrimPrefix(srv.URL, "http://") + "): no answer within 500ms\n" +
		"alert by command " + prog + ": no answer within 500ms\n" +
		"alert by email to ops@example.org: no answer within 500ms"
	if len(sent) != 0 || err == nil || err.Error() != want {
		t.Errorf("sent %v, err:\n%v\nwant:\n%s", sent, err, want)
	}
}

// The README's alerts.yaml is one alerts.yaml accepts, every key of it
// taken as documented.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n## Alerts\n")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no yaml block in the README's Alerts section")
	}
	c, err := Parse("README.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if c.Webhook == "" || c.Command == "" || c.Email == "" || c.Format != "chat" || c.RepeatAfter != 4*time.Hour {
		t.Errorf("README's example read as %+v", c)
	}
}
