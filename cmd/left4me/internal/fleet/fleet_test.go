package fleet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSSH behaves by host name like ssh reaching hosts that answer, fail,
// refuse the connection or hang; it records its arguments.
const fakeSSH = `#!/bin/sh
echo "$@" >>"$0.args"
while [ "$1" != "--" ]; do shift; done
host=$2; shift 2
case $host in
up*) echo "{\"host\": \"$host\", \"cmd\": \"$*\"}";;
fail) echo "left4me: unknown instance" >&2; exit 4;;
down) echo "Warning: something" >&2; echo "ssh: connect to host down port 22: Connection refused" >&2; exit 255;;
mute) exit 255;;
slow) exec sleep 5;;
flood) exec yes '{"x": 1}';;
shout) yes 'left4me: noise' | head -c 1000000 >&2; exit 4;;
esac
`

func fake(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ssh")
	if err := os.WriteFile(p, []byte(fakeSSH), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRun(t *testing.T) {
	ssh := fake(t)
	hosts := []string{"up1", "fail", "down", "mute", "slow", "-oProxyCommand=x", "up2"}
	start := time.Now()
	res := Run(context.Background(), Options{SSH: ssh, Timeout: 500 * time.Millisecond}, hosts, "left4me", "status", "srv 1", "--json")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v: hosts not run at once, or the timeout not applied", took)
	}
	want := []struct {
		exit        int
		unreachable string
		stdout      string
	}{
		{0, "", `{"host": "up1", "cmd": "left4me status 'srv 1' --json"}` + "\n"},
		{4, "", ""},
		{0, "ssh: connect to host down port 22: Connection refused", ""},
		{0, "ssh failed (exit 255)", ""},
		{0, "no answer within 500ms", ""},
		{0, `host "-oProxyCommand=x" starts with '-'`, ""},
		{0, "", `{"host": "up2", "cmd": "left4me status 'srv 1' --json"}` + "\n"},
	}
	for i, w := range want {
		r := res[i]
		if r.Host != hosts[i] || r.Exit != w.exit || r.Unreachable != w.unreachable || string(r.Stdout) != w.stdout {
			t.Errorf("%s: got %+v (stdout %q), want %+v", hosts[i], r, r.Stdout, w)
		}
	}
	if res[1].Stderr != "left4me: unknown instance" {
		t.Errorf("stderr %q", res[1].Stderr)
	}
	args, _ := os.ReadFile(ssh + ".args")
	if !strings.Contains(string(args), "-o BatchMode=yes -o ConnectTimeout=5 -- up1 left4me status 'srv 1' --json") {
		t.Errorf("ssh arguments:\n%s", args)
	}
	if strings.Contains(string(args), "ProxyCommand") {
		t.Errorf("a host that looks like an option reached ssh:\n%s", args)
	}
}

func TestMissingSSH(t *testing.T) {
	res := Run(context.Background(), Options{SSH: filepath.Join(t.TempDir(), "nossh")}, []string{"h"}, "true")
	if !strings.Contains(res[0].Unreachable, "no such file") {
		t.Errorf("%+v", res[0])
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"left4me":       "left4me",
		"srv-1_a.b":     "srv-1_a.b",
		"two words":     "'two words'",
		"it's":          `'it'\''s'`,
		"":              "''",
		"$(rm -rf /)":   "'$(rm -rf /)'",
		"--deadline=1h": "--deadline=1h",
	} {
		if got := Quote([]string{in}); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// A hostile host cannot grow the CLI: its answer is cut at MaxAnswer and
// it is killed there; its messages are cut at maxStderr (issue 26, item 7).
func TestAnswerBounded(t *testing.T) {
	ssh := fake(t)
	res := Run(context.Background(), Options{SSH: ssh, Timeout: 10 * time.Second}, []string{"flood", "shout", "up1"}, "left4me", "list", "--json")
	if r := res[0]; !r.TooLarge || r.Stdout != nil || r.Unreachable != "" {
		t.Errorf("flood: TooLarge %v, %d bytes, unreachable %q", r.TooLarge, len(r.Stdout), r.Unreachable)
	}
	if r := res[1]; r.TooLarge || len(r.Stderr) > maxStderr {
		t.Errorf("shout: TooLarge %v, %d bytes of stderr", r.TooLarge, len(r.Stderr))
	}
	if r := res[2]; r.TooLarge || len(r.Stdout) == 0 {
		t.Errorf("up1 was hurt by its neighbours: %+v", r)
	}
}
