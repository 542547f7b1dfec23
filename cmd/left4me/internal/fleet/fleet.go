// Package fleet runs one left4me command on many hosts at once over the
// operator's own ssh client, so that their ~/.ssh/config, keys and agent
// apply, and tells a host that was not reached from one whose command
// failed: one silent host must never hide the others.
package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 20 * time.Second
)

// MaxAnswer bounds what one host may print on stdout (a --json answer of
// hundreds of instances is a few hundred KiB): a hostile host must not grow
// the operator's CLI without end. maxStderr bounds its messages.
const (
	MaxAnswer = 4 << 20
	maxStderr = 64 << 10
)

// sshFailed is the exit status ssh itself exits with when it fails
// (ssh(1), EXIT STATUS); left4me's own codes stay below it.
const sshFailed = 255

// Options says how hosts are reached.
type Options struct {
	SSH            string        // the ssh program; "" is "ssh" from PATH
	ConnectTimeout time.Duration // ssh's ConnectTimeout; 0 is DefaultConnectTimeout
	Timeout        time.Duration // the whole command on one host; 0 is DefaultTimeout
}

// Result is what one host answered.
type Result struct {
	Host   string
	Stdout []byte
	Stderr string // trimmed
	// Exit is the remote command's exit status when the host was reached.
	Exit int
	// Unreachable, when not empty, says why the host was not reached
	// (ssh's own error, or no answer within the timeout); the other
	// fields are then meaningless.
	Unreachable string
	// TooLarge: the host printed more than MaxAnswer; it was cut off
	// there (ssh killed) and Stdout is not its answer.
	TooLarge bool
}

// capped keeps at most max bytes. Past them it either drops the rest
// (stderr) or calls over and fails the write, which ends the copy from the
// host (stdout: an answer cut short is no answer).
type capped struct {
	buf  bytes.Buffer
	max  int
	over func() // nil: drop silently
	cut  bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		if !c.cut && c.over != nil {
			c.over()
		}
		c.cut = true
		if c.over != nil {
			return 0, errTooLarge
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

var errTooLarge = errors.New("answer too large")

// CheckHost refuses a host name ssh would take for an option or that
// could not be a host at all.
func CheckHost(h string) error {
	switch {
	case h == "":
		return errors.New("an empty host name")
	case strings.HasPrefix(h, "-"):
		return fmt.Errorf("host %q starts with '-'", h)
	case strings.ContainsFunc(h, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\'' || r == '"' }):
		return fmt.Errorf("host %q has a blank, a quote or a control character", h)
	}
	return nil
}

// Run runs the command remote (words, quoted for the remote shell here)
// on every host at once and returns their results in the order of hosts.
func Run(ctx context.Context, o Options, hosts []string, remote ...string) []Result {
	out := make([]Result, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() { out[i] = one(ctx, o, h, remote) })
	}
	wg.Wait()
	return out
}

func one(ctx context.Context, o Options, host string, remote []string) Result {
	r := Result{Host: host}
	if err := CheckHost(host); err != nil {
		r.Unreachable = err.Error()
		return r
	}
	ssh, connect, timeout := o.SSH, o.ConnectTimeout, o.Timeout
	if ssh == "" {
		ssh = "ssh"
	}
	if connect <= 0 {
		connect = DefaultConnectTimeout
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// BatchMode: never ask for a password or a host key on the terminal
	// (all hosts ask at once); "--" so that no host is read as an option.
	args := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=" + strconv.Itoa(max(int(connect.Seconds()), 1)),
		"--", host, Quote(remote)}
	// Killed at once when its answer grows past MaxAnswer.
	runCtx, kill := context.WithCancel(ctx)
	defer kill()
	cmd := exec.CommandContext(runCtx, ssh, args...)
	stdout, stderr := &capped{max: MaxAnswer, over: kill}, &capped{max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = time.Second // a remote that keeps the pipes open
	err := cmd.Run()
	r.Stdout, r.Stderr = stdout.buf.Bytes(), strings.TrimSpace(stderr.buf.String())
	var ee *exec.ExitError
	switch {
	case stdout.cut:
		r.TooLarge, r.Stdout = true, nil
	case ctx.Err() == context.DeadlineExceeded:
		r.Unreachable = fmt.Sprintf("no answer within %v", timeout)
	case ctx.Err() != nil:
		r.Unreachable = ctx.Err().Error()
	case errors.As(err, &ee) && ee.ExitCode() == sshFailed:
		r.Unreachable = lastLine(r.Stderr)
		if r.Unreachable == "" {
			r.Unreachable = "ssh failed (exit 255)"
		}
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
	case err != nil:
		r.Unreachable = fmt.Sprintf("running %s: %v", ssh, err)
	}
	return r
}

// Quote joins words into one command line for the remote POSIX shell,
// quoting every word that is not made of safe characters only.
func Quote(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if w != "" && strings.IndexFunc(w, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./=:,@%+", r))
		}) < 0 {
			q[i] = w
			continue
		}
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// lastLine is the last non-empty line of s: ssh says why it failed last,
// after any banner or warning.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
