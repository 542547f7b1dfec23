// Package alert tells the operator what went wrong with a server when
// nobody watches: a webhook (Discord's and Slack's JSON, or a generic
// one), a command that gets the event as JSON on stdin, an email through
// the host's sendmail, as /etc/left4me/alerts.yaml says.
//
// An event carries what happened, to which instance, on which host and
// when, in left4me's words: never the configuration (a webhook URL is a
// secret), a spec or a server's output (its console may echo an rcon
// password). The ways are tried at once, each once with a timeout; a
// failure is returned for the journal and never stops the other ways.
package alert

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"gopkg.in/yaml.v3"

	"github.com/left4me/left4me/cmd/left4me/internal/safepath"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/specfile"
)

// File is alerts.yaml below the configuration directory.
const File = "alerts.yaml"

// Timeout bounds each way of delivery.
const Timeout = 10 * time.Second

// DefaultSendmail is where Debian's MTAs put sendmail (LSB).
const DefaultSendmail = "/usr/sbin/sendmail"

// Event kinds.
const (
	StartLimit   = "start-limit"   // a crash loop: systemd gave up
	HangKill     = "hang-kill"     // the watchdog killed a hung server
	SocketKill   = "socket-kill"   // the relay killed a server holding too many sockets
	StartRefused = "start-refused" // the start helper refused to start it
	Failed       = "failed"        // the unit failed otherwise
	DiskFull     = "disk-full"     // left4me-disk stopped it over its disk ceiling
	UpdateFailed = "update-failed" // a game update failed
	NewBuild     = "new-build"     // a game update installed a new build
	BuildFailed  = "overlay-build-failed"
	BackupFailed = "backup-failed"
	// RestartFailed: a scheduled restart failed (its spec would not
	// start, its players could not be warned, its job failed).
	RestartFailed = "restart-failed"
	Test          = "test"
)

// Event is what is sent. Its JSON is the generic webhook's body and the
// command's stdin.
type Event struct {
	Kind     string    `json:"event"`
	Instance string    `json:"instance,omitempty"`
	Host     string    `json:"host"`
	Time     time.Time `json:"time"`
	Summary  string    `json:"summary"`
	Detail   string    `json:"detail,omitempty"`
}

// Text is the event for people (chat, email).
func (e Event) Text() string {
	s := fmt.Sprintf("[left4me %s] %s", e.Host, e.Summary)
	if e.Detail != "" {
		s += "\n" + e.Detail
	}
	return s
}

// Config is alerts.yaml.
type Config struct {
	Webhook  string // URL
	Format   string // "chat" (Discord and Slack) or "generic"
	Command  string // absolute path
	Email    string // address
	Sendmail string // the sendmail program
	// RepeatAfter: the same alert again within this is held back (Hold);
	// 0 sends every one.
	RepeatAfter time.Duration
	// Exposed, when set, says that the file's secret is readable by
	// other users (Load).
	Exposed string

	timeout time.Duration // each way's bound; 0 is Timeout (tests shorten it)
}

// Load reads dir/alerts.yaml; a missing file is (nil, nil): no alerts.
// The file names a command run as root, so it must be root's and not
// writable by others.
func Load(dir string) (*Config, error) {
	path := filepath.Join(dir, File)
	b, err := specfile.Read(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil
	case errors.Is(err, specfile.ErrSymlink):
		// specfile's words are a spec's.
		return nil, fmt.Errorf("%s: is a symbolic link, which is never followed; %s must be a regular file, root's and not group/world-writable", path, File)
	case err != nil:
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, err
	}
	if st.Uid != 0 || st.Mode&0o022 != 0 {
		return nil, fmt.Errorf("%s: owned by uid %d with mode %o; it names what runs as root, so it must be root's and not group/world-writable", path, st.Uid, st.Mode&0o777)
	}
	c, err := Parse(path, b)
	if c != nil && c.Webhook != "" && st.Mode&0o044 != 0 {
		// Still used (alerts keep coming), but said: the URL is a secret.
		c.Exposed = fmt.Sprintf("%s is readable by other users (mode %o) and its webhook URL holds a secret token: chmod 0600 %s", path, st.Mode&0o777, path)
	}
	return c, err
}

// file is alerts.yaml as written: each value a node, so that one given
// empty is told from one not given, and each problem is placed on it.
type file struct {
	Webhook     yaml.Node `yaml:"webhook"`
	Format      yaml.Node `yaml:"format"`
	Command     yaml.Node `yaml:"command"`
	Email       yaml.Node `yaml:"email"`
	Sendmail    yaml.Node `yaml:"sendmail"`
	RepeatAfter yaml.Node `yaml:"repeat_after"`
}

// Parse reads an alerts.yaml. It reads it as the host's other small
// config files are (spec.DecodeFile): every problem at once, each as
// FILE:LINE:COL: KEY: what is wrong (a *spec.Error), a YAML syntax error
// in plain words at its line (a tab in the indentation).
func Parse(path string, b []byte) (*Config, error) {
	var f file
	at, err := spec.DecodeFile(path, b, &f)
	if err != nil {
		return nil, err
	}
	c := &Config{Format: "chat", Sendmail: DefaultSendmail, RepeatAfter: DefaultRepeatAfter}
	var errs []error
	given := false
	for _, k := range []struct {
		key string
		n   *yaml.Node
		set func(string) string // what is wrong with the value, "" if nothing
	}{
		{"webhook", &f.Webhook, c.setWebhook},
		{"format", &f.Format, c.setFormat},
		{"command", &f.Command, func(v string) string { return setPath(&c.Command, v) }},
		{"email", &f.Email, c.setEmail},
		{"sendmail", &f.Sendmail, func(v string) string { return setPath(&c.Sendmail, v) }},
		{"repeat_after", &f.RepeatAfter, c.setRepeatAfter},
	} {
		if k.n.Kind == 0 {
			continue // not given
		}
		given = true
		msg := "want a non-empty string"
		if k.n.Kind == yaml.ScalarNode && k.n.Value != "" {
			msg = k.set(k.n.Value)
		}
		if msg != "" {
			errs = append(errs, at.At(k.key, "%s", msg))
		}
	}
	if len(errs) > 0 {
		return nil, spec.JoinByLine(errs...)
	}
	switch {
	case !given:
		return nil, &spec.Error{File: path, Msg: "empty; want at least one of webhook, command, email"}
	case c.Webhook == "" && c.Command == "" && c.Email == "":
		return nil, &spec.Error{File: path, Msg: "want at least one of webhook, command, email"}
	}
	return c, nil
}

func (c *Config) setWebhook(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "want an http:// or https:// URL"
	}
	c.Webhook = v
	return ""
}

func (c *Config) setFormat(v string) string {
	if v != "chat" && v != "generic" {
		return `want "chat" (Discord, Slack and compatible) or "generic" (the event's JSON)`
	}
	c.Format = v
	return ""
}

func setPath(to *string, v string) string {
	if !filepath.IsAbs(v) {
		return "want an absolute path"
	}
	*to = v
	return ""
}

func (c *Config) setEmail(v string) string {
	// One address, never an option to sendmail.
	if strings.ContainsAny(v, "\r\n ,;") || !strings.Contains(v, "@") || strings.HasPrefix(v, "-") {
		return "want one address like ops@example.org"
	}
	c.Email = v
	return ""
}

func (c *Config) setRepeatAfter(v string) string {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return "want a duration like 4h or 30m (0: send every alert)"
	}
	c.RepeatAfter = d
	return ""
}

// Send delivers ev every way c names, all at once, each within Timeout
// (a hanging webhook does not hold up the command). It returns what was
// delivered and an error per way that failed (naming the way, never the
// webhook's URL), both in the order webhook, command, email.
func Send(ctx context.Context, c *Config, ev Event) (sent []string, err error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	ways := c.ways(ev, body)
	errs := make([]error, len(ways))
	var wg sync.WaitGroup
	for i, w := range ways {
		wg.Go(func() { errs[i] = c.try(ctx, w.send) })
	}
	wg.Wait()
	var failed []error
	for i, w := range ways {
		if errs[i] != nil {
			failed = append(failed, fmt.Errorf("alert by %s: %w", w.name, errs[i]))
			continue
		}
		sent = append(sent, w.name)
	}
	return sent, errors.Join(failed...)
}

// way is one way of delivery: its name for the journal, never the
// webhook's URL.
type way struct {
	name string
	send func(ctx context.Context) error
}

func (c *Config) ways(ev Event, body []byte) []way {
	var ws []way
	if c.Webhook != "" {
		u, _ := url.Parse(c.Webhook)
		ws = append(ws, way{"webhook (" + u.Host + ")", func(ctx context.Context) error { return webhook(ctx, c, ev, body) }})
	}
	if c.Command != "" {
		ws = append(ws, way{"command " + c.Command, func(ctx context.Context) error { return command(ctx, c.Command, body) }})
	}
	if c.Email != "" {
		ws = append(ws, way{"email to " + c.Email, func(ctx context.Context) error { return email(ctx, c, ev) }})
	}
	return ws
}

// try runs send within c's timeout. A way given up on says so and
// within how long, rather than how it was stopped ("signal: killed",
// "context deadline exceeded").
func (c *Config) try(ctx context.Context, send func(context.Context) error) error {
	bound := cmp.Or(c.timeout, Timeout)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < bound {
		bound = time.Until(dl).Round(time.Millisecond) // the caller's comes first
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	err := send(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no answer within %v", bound)
	case errors.Is(ctx.Err(), context.Canceled):
		return errors.New("given up: interrupted")
	}
	return err
}

// chatBody is accepted by Discord ("content", discord.com/developers/docs/
// resources/webhook#execute-webhook) and by Slack's incoming webhooks and
// Mattermost, Rocket.Chat and others that copy them ("text",
// api.slack.com/messaging/webhooks); each ignores the other's field.
type chatBody struct {
	Content  string `json:"content"`
	Text     string `json:"text"`
	Username string `json:"username"`
}

// maxChat is Discord's limit on content (2000 characters).
const maxChat = 2000

func webhook(ctx context.Context, c *Config, ev Event, generic []byte) error {
	body := generic
	if c.Format == "chat" {
		t := ev.Text()
		if r := []rune(t); len(r) > maxChat {
			t = string(r[:maxChat-1]) + "…"
		}
		body, _ = json.Marshal(chatBody{Content: t, Text: t, Username: "left4me"})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Webhook, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad request") // the URL stays out of the journal
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "left4me")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

func command(ctx context.Context, path string, body []byte) error {
	real, err := trusted(path)
	if err != nil {
		return err
	}
	cmd := group(ctx, real)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func email(ctx context.Context, c *Config, ev Event) error {
	var msg bytes.Buffer
	subject := strings.NewReplacer("\r", " ", "\n", " ").Replace(fmt.Sprintf("[left4me %s] %s", ev.Host, ev.Summary))
	fmt.Fprintf(&msg, "To: %s\r\nSubject: %s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", c.Email, subject, ev.Text())
	// -i: a line of one "." does not end the message; the address is an
	// argument after --, never an option.
	sendmail, err := trusted(c.Sendmail)
	if err != nil {
		return err
	}
	cmd := group(ctx, sendmail, "-i", "--", c.Email)
	cmd.Stdin = &msg
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", c.Sendmail, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// group is a command run in a process group of its own, the whole group
// killed when ctx is done: killing only the program would leave what it
// started (a script's sleep, curl, mail queue runner) running, reparented
// to PID 1, one more at each alert. What leaves the group (setsid, a
// daemon) escapes; in a unit (left4me-alert@NAME), systemd kills that
// with the unit's cgroup.
func group(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if err := unix.Kill(-cmd.Process.Pid, unix.SIGKILL); err != unix.ESRCH {
			return err
		}
		return os.ErrProcessDone
	}
	// Output held open by a process outside the group ends the wait anyway.
	cmd.WaitDelay = time.Second
	return cmd
}

// trusted refuses to run path, as root, unless only root can change it
// (safepath.Check): whoever could would run code as root at the next
// alert.
func trusted(path string) (string, error) {
	real, err := safepath.Check(path)
	if err != nil {
		return "", fmt.Errorf("not run: %w", err)
	}
	return real, nil
}
