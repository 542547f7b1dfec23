package relay

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

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
	outcome("signal a thread of the relay", signalThreads(os.Getppid()))
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

// signalThreads tries signal 0 (the permission check alone) on each
// thread of process pid: nil if one of them may be signalled, for longer
// than the relay's forking thread takes to end (it is in the domain until
// then). A SIGSTOP to any thread stops the whole process.
func signalThreads(pid int) error {
	var err error
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		tasks, rerr := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		if rerr != nil {
			return rerr
		}
		err = unix.EPERM
		for _, e := range tasks {
			tid, _ := strconv.Atoi(e.Name())
			if unix.Tgkill(pid, tid, 0) == nil {
				err = nil
			}
		}
		if err != nil {
			return err
		}
	}
	return err
}

// scopeMainEnv makes the test binary a relay whose main goroutine starts
// the server while on the process's main thread (TestScopedFromMainThread).
const scopeMainEnv = "LEFT4ME_TEST_SCOPE_MAIN"

func init() {
	if os.Getenv(scopeMainEnv) != "" {
		runtime.LockOSThread() // the main goroutine stays on the main thread
	}
}

func TestMain(m *testing.M) {
	if name := os.Getenv(scopeMainEnv); name != "" {
		os.Exit(startFromMainThread(name))
	}
	os.Exit(m.Run())
}

// startFromMainThread starts TestScopeChild as the server from the main
// thread, which Go then has free to run the goroutine it starts next.
func startFromMainThread(name string) int {
	l, err := net.Listen("unix", "@"+name)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer l.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestScopeChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), scopeChildEnv+"="+name, scopeMainEnv+"=")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Printf("started on the main thread: %v\n", unix.Gettid() == unix.Getpid())
	runtime.UnlockOSThread()
	if _, err := startScoped(cmd); err != nil {
		fmt.Println(err)
		return 1
	}
	if err := cmd.Wait(); err != nil {
		fmt.Println(err)
		return 1
	}
	return 0
}

// Whichever thread the relay starts the server from, none of the relay's
// stays in the server's domain: left4me-relay calls Run from its main
// goroutine, and Go may run the forking goroutine on the main thread,
// which it never ends (it would stay in the domain, and kill(relay) is
// checked against it).
func TestScopedFromMainThread(t *testing.T) {
	if abi, err := landlockABI(); abi < scopeABI {
		t.Skipf("this kernel's Landlock ABI is %d (%v); scopes need %d (Linux 6.12)", abi, err, scopeABI)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), scopeMainEnv+"=left4me-relay-test-main-"+strconv.Itoa(os.Getpid()), "GOMAXPROCS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	check(t, "from the main thread", string(out), map[string]string{
		"started on the main thread":   "true",
		"signal the relay":             unix.EPERM.Error(),
		"signal a thread of the relay": unix.EPERM.Error(),
		"signal itself":                "ok",
	})
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
	if !got.Scoped || got.Err != nil || !strings.HasPrefix(got.Note(), "landlock: the server can neither signal its relay") {
		t.Errorf("scope %+v, note %q", got, got.Note())
	}
	eperm := unix.EPERM.Error()
	want := map[string]string{
		"signal the relay":                  eperm,
		"signal a thread of the relay":      eperm,
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
		{Scope{ABI: 7, Scoped: true}, "landlock: the server can neither signal its relay nor reach abstract unix sockets outside it (ABI 7)"},
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
