package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/a2s"
)

type report struct {
	Argv        []string `json:"argv"`
	UID         int      `json:"uid"`
	PID         int      `json:"pid"`
	Hostname    string   `json:"hostname"`
	Wrote       []string `json:"wrote"`
	WriteErrors []string `json:"write_errors"`
	CfgChain    []struct {
		File  string   `json:"file"`
		Lines []string `json:"lines"`
	} `json:"cfg_chain"`
}

func unitState(t *testing.T, c *Container, name string) string {
	t.Helper()
	out, _ := c.Run(t, "systemctl", "is-active", "l4d2@"+name+".service")
	return strings.TrimSpace(out)
}

func waitActive(t *testing.T, c *Container, name string) {
	t.Helper()
	c.WaitFor(t, name+" active and answering", 60*time.Second, func() bool {
		return unitState(t, c, name) == "active" && strings.Contains(c.Journal(t, "l4d2@"+name+".service"), "standin: listening")
	})
}

func mainPID(t *testing.T, c *Container, name string) string {
	t.Helper()
	return strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "MainPID", "l4d2@"+name+".service"))
}

// mountCount counts mounts on the instance's merged dir inside the container.
func mountCount(t *testing.T, c *Container, name string) int {
	t.Helper()
	mi := c.MustRun(t, "cat", "/proc/self/mountinfo")
	return strings.Count(mi, " /var/lib/left4me/runtime/"+name+"/merged ")
}

// query asks the instance for A2S_INFO from inside the container's network.
func query(t *testing.T, c *Container, port int) a2s.Info {
	t.Helper()
	var info a2s.Info
	var err error
	for i := 0; i < 20; i++ {
		c.Netns(t, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			info, err = a2s.Query(ctx, "127.0.0.1:"+strconv.Itoa(port))
		})
		if err == nil {
			return info
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("A2S_INFO on port %d: %v", port, err)
	return info
}

func readReport(t *testing.T, state, name string) report {
	t.Helper()
	var r report
	b, err := os.ReadFile(filepath.Join(state, "runtime", name, "upper", "left4dead2", "standin-report.json"))
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	if err != nil {
		t.Fatalf("stand-in report of %s: %v", name, err)
	}
	return r
}

// exitCode is the exit status of a command run with Container.Run.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("not an exit status: %v", err)
	return -1
}

// errText is the error of Container.Run, which carries stderr.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// rowOf is the line of a table (out) whose first field is name, its
// fields one space apart; "" when there is none.
func rowOf(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return strings.Join(f, " ")
		}
	}
	return ""
}

// hasRow reports whether some line of out has the fields in order.
func hasRow(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Join(strings.Fields(l), " ") == strings.Join(fields, " ") {
			return true
		}
	}
	return false
}

// landlockABI is the kernel's Landlock ABI (the containers share the
// host's kernel), 0 without Landlock: the relay scopes its server from ABI 6.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// waitRestarted waits for systemd to have started name's server again
// after the restarts counted before (NRestarts), and for it to be active.
func waitRestarted(t *testing.T, c *Container, name, before string) {
	t.Helper()
	c.WaitFor(t, name+" started again", 60*time.Second, func() bool {
		n, _ := c.Run(t, "systemctl", "show", "-P", "NRestarts", "l4d2@"+name+".service")
		return strings.TrimSpace(n) != before && unitState(t, c, name) == "active"
	})
}
