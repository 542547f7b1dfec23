package steamcmd

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// steamcmd's stdout is a terminal, so that C stdio flushes each line
// (the real one block-buffers a pipe); a last line without a newline
// still arrives.
func TestRunOutputIsATerminal(t *testing.T) {
	cases := []struct{ body, want string }{
		{`if [ -t 1 ]; then echo "stdout is a terminal"; fi`, "stdout is a terminal"},
		{`if [ -t 2 ]; then echo "stderr is a terminal" >&2; fi`, "stderr is a terminal"},
		{`if [ -t 0 ]; then echo "stdin is a terminal"; else echo "stdin is not"; fi`, "stdin is not"},
		{`printf 'Steam>'`, "Steam>"},
		{`printf 'a\nb\n'`, "a|b"},
	}
	for _, c := range cases {
		var lines []string
		_, err := Run(context.Background(), fake(t, c.body+"\n"), "", "", func(l string) { lines = append(lines, l) })
		if err != nil || strings.Join(lines, "|") != c.want {
			t.Errorf("%s: %v %q, want %q", c.body, err, lines, c.want)
		}
	}
}

// Should left4me itself be killed (kill -9), nothing steamcmd started may
// run on: Pdeathsig reaches steamcmd.sh only, the PID namespace the rest.
func TestRunCallerKilledLeavesNoOrphan(t *testing.T) {
	if mark := os.Getenv("LEFT4ME_TEST_RUN_HELPER"); mark != "" {
		c := fake(t, "sleep "+mark+" &\necho started\nwait\n")
		Run(context.Background(), c, "", "", nil)
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("a PID namespace needs root")
	}
	mark := fmt.Sprintf("301.%d", time.Now().UnixNano()%1000000)
	helper := exec.Command(os.Args[0], "-test.run=^TestRunCallerKilledLeavesNoOrphan$")
	helper.Env = append(os.Environ(), "LEFT4ME_TEST_RUN_HELPER="+mark)
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; running(mark) == ""; i++ {
		if i == 500 {
			helper.Process.Kill()
			t.Fatal("the helper's steamcmd did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	helper.Process.Signal(syscall.SIGKILL)
	helper.Wait()
	waitGone(t, mark)
}
