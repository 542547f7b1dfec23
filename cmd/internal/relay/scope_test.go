package relay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// scopeChildEnv makes the test binary the server of TestServerScoped.
const scopeChildEnv = "LEFT4ME_TEST_SCOPE_CHILD"

// TestScopeChild is not a test: run as the server by TestServerScoped, it
// tries its parent (the relay, or the test itself) and an abstract socket
// the parent listens on, then the same on itself, and prints the outcomes.
func TestScopeChild(t *testing.T) {
	name := os.Getenv(scopeChildEnv)
	if name == "" {
		t.Skip("run by TestServerScoped")
	}
	outcome := func(what string, err error) {
		if err == nil {
			fmt.Printf("%s: ok\n", what)
		} else {
			fmt.Printf("%s: %v\n", what, err)
		}
	}
	dial := func(name string) error {
		c, err := net.Dial("unix", "@"+name)
		if err == nil {
			c.Close()
		}
		return err
	}
	// SIGCONT does nothing to a running process: the attempt is what counts.
	outcome("signal the relay", syscall.Kill(os.Getppid(), syscall.SIGCONT))
	outcome("reach the relay's abstract socket", dial(name))
	own := name + "-own"
	l, err := net.Listen("unix", "@"+own)
	if err != nil {
		outcome("listen on its own abstract socket", err)
		return
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	outcome("signal itself", syscall.Kill(os.Getpid(), syscall.SIGCONT))
	outcome("reach its own abstract socket", dial(own))
}

// The server runs in a Landlock domain that keeps it from signalling its
// relay and from abstract unix sockets made outside it (a neighbour's, a
// host daemon's), and lets it do both among its own processes; the same
// program started without the relay does everything.
func TestServerScoped(t *testing.T) {
	if abi, err := landlockABI(); abi < scopeABI {
		t.Skipf("this kernel's Landlock ABI is %d (%v); scopes need %d (Linux 6.12)", abi, err, scopeABI)
	}
	name := "left4me-relay-test-" + strconv.Itoa(os.Getpid())
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	argv := []string{os.Args[0], "-test.run=^TestScopeChild$", "-test.v=false"}
	t.Setenv(scopeChildEnv, name)
	var out lines
	var got Scope
	code, err := Run(argv, &out, Options{Scope: func(s Scope) { got = s }})
	if err != nil || code != 0 {
		t.Fatalf("%d %v\n%s", code, err, out.String())
	}
	if !got.Scoped || got.Err != nil || got.Note() != "" {
		t.Errorf("scope %+v, note %q", got, got.Note())
	}
	eperm := unix.EPERM.Error()
	want := map[string]string{
		"signal the relay":                  eperm,
		"reach the relay's abstract socket": "dial unix @" + name + ": connect: " + eperm,
		"signal itself":                     "ok",
		"reach its own abstract socket":     "ok",
	}
	check(t, "through the relay", out.String(), want)

	// Unscoped, as on a kernel without Landlock: the test's premise.
	plain, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, plain)
	}
	for k := range want {
		want[k] = "ok"
	}
	check(t, "without the relay", string(plain), want)
}

func check(t *testing.T, how, out string, want map[string]string) {
	t.Helper()
	for what, w := range want {
		if !strings.Contains(out, what+": "+w+"\n") {
			t.Errorf("%s: want %q, got:\n%s", how, what+": "+w, out)
		}
	}
}

// Each kind of kernel gets a line that says what the server can do.
func TestScopeNote(t *testing.T) {
	for _, tc := range []struct {
		s    Scope
		want string
	}{
		{Scope{ABI: 7, Scoped: true}, ""},
		{Scope{Missing: unix.EPERM}, "landlock: not available (operation not permitted): the server can signal its relay and reach abstract unix sockets outside it"},
		{Scope{ABI: 4}, "landlock: this kernel's ABI 4 has no scopes (ABI 6, Linux 6.12): the server can signal its relay and reach abstract unix sockets outside it"},
		{Scope{ABI: 6, Err: fmt.Errorf("restrict (ABI 6): %w", errors.New("operation not permitted"))}, "landlock: restrict (ABI 6): operation not permitted: the server can signal its relay and reach abstract unix sockets outside it"},
	} {
		if got := tc.s.Note(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

// What the domain adds to a server's start: one more OS thread, three
// system calls. Against a plain start of the same program.
func BenchmarkStart(b *testing.B) {
	for _, scoped := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "scoped"}[scoped], func(b *testing.B) {
			for b.Loop() {
				cmd := exec.Command("/bin/true")
				var err error
				if scoped {
					_, err = startScoped(cmd)
				} else {
					err = cmd.Start()
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := cmd.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
