package relay

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/syncbuf"
)

// lines is an io.Writer that keeps what the relay wrote, safely.
type lines = syncbuf.Buffer

func TestExitStatus(t *testing.T) {
	for script, want := range map[string]int{"echo a; exit 3": 3, "kill -9 $$": 128 + 9, "tty >/dev/null": 0} {
		var out lines
		code, err := Run([]string{"/bin/sh", "-c", script}, &out, Options{})
		if err != nil || code != want {
			t.Errorf("%q: %d %v, want %d\n%s", script, code, err, want, out.String())
		}
	}
}

// Lines arrive as printed, without the terminal's carriage returns, and
// the last one before a kill is kept.
func TestLinesAsPrinted(t *testing.T) {
	var out lines
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = Run([]string{"/bin/sh", "-c", "echo first; sleep 2; echo last; kill -9 $$"}, &out, Options{})
	}()
	for !strings.Contains(out.String(), "first\n") {
		if time.Since(start) > time.Second {
			t.Fatalf("the first line did not arrive within a second: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-done
	if out.String() != "first\nlast\n" {
		t.Errorf("got %q", out.String())
	}
}

// The console: commands go to the server's terminal, its lines back to
// every client; a stranger is refused.
func TestConsole(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "console.sock")
	var allowed atomic.Bool
	allowed.Store(true)
	var out lines
	done := make(chan int)
	go func() {
		code, _ := Run([]string{"/bin/sh", "-c", `while read l; do [ "$l" = bye ] && exit 0; echo "got $l"; done`}, &out,
			Options{Socket: sock, Allowed: func(uint32) bool { return allowed.Load() }})
		done <- code
	}()
	var conn net.Conn
	var err error
	for range 100 {
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	conn.Write([]byte("hello there\n"))
	if l, err := r.ReadString('\n'); err != nil || l != "got hello there\n" {
		t.Fatalf("answer %q %v", l, err)
	}
	conn.Write([]byte("a\x1b[2Jb\n"))
	if l, _ := r.ReadString('\n'); !strings.Contains(l, "refused: contains the control character") {
		t.Errorf("a control character: %q", l)
	}
	allowed.Store(false)
	other, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := bufio.NewReader(other).ReadString('\n'); !strings.Contains(l, "for root and members of left4me-admin only") {
		t.Errorf("stranger: %q", l)
	}
	conn.Write([]byte("quit\n"))
	if l, _ := r.ReadString('\n'); !strings.Contains(l, "refused: quit would stop the server behind systemd's back; use left4me stop NAME") {
		t.Errorf("quit: %q", l)
	}
	conn.Write([]byte("rcon_password hunter2\n"))
	if l, _ := r.ReadString('\n'); l != "got rcon_password [redacted]\n" {
		t.Errorf("the echo of a secret: %q", l)
	}
	conn.Write([]byte("bye\n"))
	if code := <-done; code != 0 || !strings.Contains(out.String(), "got hello there\n") {
		t.Errorf("exit %d, journal %q", code, out.String())
	}
	// Who typed what is the relay's own line, the secret redacted; what
	// was refused was not typed.
	uid := os.Getuid()
	for _, want := range []string{fmt.Sprintf("left4me-relay: console: uid %d typed: hello there\n", uid),
		fmt.Sprintf("left4me-relay: console: uid %d typed: rcon_password [redacted]\n", uid)} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("journal lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "hunter2") || strings.Contains(out.String(), "typed: quit") {
		t.Errorf("journal: %q", out.String())
	}
}

// At SIGTERM the relay types the stop command, whatever the server does
// with signals; the server's own exit status is the relay's.
func TestStopTypesQuit(t *testing.T) {
	var out lines
	done := make(chan int)
	go func() {
		// No handler for SIGTERM would matter: only the relay gets it.
		code, _ := Run([]string{"/bin/sh", "-c", `trap "" INT TERM; echo up; while read l; do [ "$l" = quit ] && { echo bye; exit 0; }; done`}, &out,
			Options{Stop: "quit"})
		done <- code
	}()
	for !strings.Contains(out.String(), "up\n") {
		time.Sleep(10 * time.Millisecond)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 || !strings.Contains(out.String(), `typing "quit" into the console`) || !strings.HasSuffix(out.String(), "bye\n") {
		t.Errorf("exit %d, journal %q", code, out.String())
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"rcon_password s3cret":             "rcon_password [redacted]",
		`"sv_password" = "x y"`:            `"sv_password" [redacted]`,
		"sm_cvar sm_admin_password abc":    "sm_cvar sm_admin_password [redacted]",
		"say my password is in the README": "say my password [redacted]",
		"rcon_password":                    "rcon_password",
		"status":                           "status",
	} {
		if got := string(Redact([]byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestHoldsSecret(t *testing.T) {
	cases := []struct {
		line string
		want bool
	}{
		{`rcon_password "s3cret"`, true},
		{"sv_password abc", true},
		{"sm_cvar sm_admin_password abc", true},
		{"exec a; rcon_password x", true},
		{"rcon_password", false}, // no value: nothing to hide
		{`hostname "My server"`, false},
		{"// rcon_password x", false}, // a comment runs nothing
	}
	for _, c := range cases {
		if got := HoldsSecret(c.line); got != c.want {
			t.Errorf("HoldsSecret(%q) = %v, want %v", c.line, got, c.want)
		}
	}
}

func TestServerEnv(t *testing.T) {
	got := serverEnv([]string{"A=1", "NOTIFY_SOCKET=/run/systemd/notify", "B=2"})
	if strings.Join(got, " ") != "A=1 B=2" {
		t.Errorf("%q", got)
	}
}

// A long say becomes several, each quoted and whole as players read it
// (the game shows 127 bytes of a say, its opening quote included); the
// words, in order, are all there. A ';' or "//" in a say is its text.
func TestCommandsSplitSay(t *testing.T) {
	msg := strings.Repeat("restart soon, sorry ", 30)
	lines, why := Commands("say " + msg)
	if why != "" || len(lines) < 2 {
		t.Fatalf("%q %q", lines, why)
	}
	var words []string
	for _, l := range lines {
		text, ok := strings.CutPrefix(l, `say "`)
		if !ok || !strings.HasSuffix(text, `"`) || len(text) > 127 || len(engineCommands(l)) != 1 {
			t.Errorf("line %q", l)
		}
		words = append(words, strings.Fields(strings.TrimSuffix(text, `"`))...)
	}
	if strings.Join(words, " ") != strings.TrimSpace(msg) {
		t.Errorf("words lost: %q", words)
	}
	for cmd, want := range map[string][]string{
		// Typed, a ';' runs another command, as the engine would.
		"say back in 5; sorry // really":   {"say back in 5; sorry // really"},
		`SAY "hi there"`:                   {`SAY "hi there"`},
		"  say   spaced   out  ":           {"  say   spaced   out  "},
		"say " + strings.Repeat("x ", 100): {`say "` + strings.TrimSpace(strings.Repeat("x ", 63)) + `"`, `say "` + strings.TrimSpace(strings.Repeat("x ", 37)) + `"`},
	} {
		if got, why := Commands(cmd); why != "" || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q: %q %q, want %q", cmd, got, why, want)
		}
	}
	// An announcement is text, whatever it holds.
	for msg, want := range map[string]string{"back in 5; sorry // really": `say "back in 5; sorry // really"`, "a;quit": `say "a;quit"`} {
		if got, why := SayCommands(msg); why != "" || strings.Join(got, "\n") != want {
			t.Errorf("SayCommands(%q): %q %q, want %q", msg, got, why, want)
		}
	}
	for msg, want := range map[string]string{`he said "no"`: "contains a double quote", " ": "says nothing", "caf\u00e9": "keeps only printable ASCII"} {
		if _, why := SayCommands(msg); !strings.Contains(why, want) {
			t.Errorf("SayCommands(%q): %q, want %q", msg, why, want)
		}
	}
	if _, why := Commands("say a;quit"); !strings.Contains(why, "quit would stop the server") {
		t.Errorf("typed say a;quit: %q", why)
	}
	for cmd, want := range map[string]string{
		"sv_tags " + strings.Repeat("x", 300): "would cut the rest",
		"say " + strings.Repeat("x", 200):     "has a word of 200 bytes",
		"say caf\u00e9":                       "keeps only printable ASCII",
	} {
		if _, why := Commands(cmd); !strings.Contains(why, want) {
			t.Errorf("%q: %q, want %q", cmd, why, want)
		}
	}
}

// The engine runs each command of a line (split at ';' outside quotes,
// nothing after "//"), its name read as the engine reads it: a quit or
// exit anywhere in the line is refused, and a secret in any command is
// redacted.
func TestEngineCommands(t *testing.T) {
	for _, cmd := range []string{"quit", "QUIT", "say bye;quit", "echo x; exit", `"quit"`, "quit:now", "status;;quit", "  exit  ",
		// What an alias defined in the line, or SourceMod's sm_rcon, runs.
		"alias bye quit; bye", `alias bye "say x;quit";bye`, `sm_rcon quit`, `sm_rcon "alias q exit"`} {
		if why := CheckCommand(cmd); !strings.Contains(why, "would stop the server behind systemd's back") {
			t.Errorf("%q: %q", cmd, why)
		}
	}
	for _, cmd := range []string{"say \"bye;quit\"", "status // quit", "quitter", "say quit", "echo exit"} {
		if why := CheckCommand(cmd); why != "" {
			t.Errorf("%q refused: %q", cmd, why)
		}
	}
	for in, want := range map[string]string{
		"say a b c; rcon_password hunter2":      "say a b c; rcon_password [redacted]",
		"sv_password x;rcon_password y; status": "sv_password [redacted];rcon_password [redacted]; status",
		`say "a;b"; rcon_password "p w"`:        `say "a;b"; rcon_password [redacted]`,
		"status // rcon_password in a comment":  "status // rcon_password in a comment",
		// The engine ends a word at a quote: rcon_password"x" sets x.
		`rcon_password"hunter2"`:      `rcon_password [redacted]`,
		`say hi;sv_password"hunter2"`: `say hi;sv_password [redacted]`,
	} {
		if got := string(Redact([]byte(in))); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// A server line that begins like the relay's own refusal reaches clients
// with a space before it: a plugin printing "left4me: refused" cannot make
// `left4me send` or `console` give up.
func TestServerLinesCannotPoseAsTheRelay(t *testing.T) {
	c := &console{clients: map[net.Conn]chan []byte{}}
	out := make(chan []byte, 2)
	c.clients[nil] = out
	c.broadcast([]byte(Refusal + "refused: for root only\n"))
	c.broadcast([]byte("L 12/06/2026 - left4me: fine\n"))
	if got := string(<-out); got != " "+Refusal+"refused: for root only\n" {
		t.Errorf("got %q", got)
	}
	if got := string(<-out); got != "L 12/06/2026 - left4me: fine\n" {
		t.Errorf("got %q", got)
	}
}

// Out of descriptors, the console does not stop serving: it says so, and
// serves the next client once some have left.
func TestConsoleOutOfDescriptors(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "console.sock")
	var out lines
	done := make(chan int)
	go func() {
		code, _ := Run([]string{"/bin/sh", "-c", `while read l; do [ "$l" = bye ] && exit 0; echo "got $l"; done`}, &out,
			Options{Socket: sock, Allowed: func(uint32) bool { return true }})
		done <- code
	}()
	dial := func() net.Conn {
		for range 100 {
			if c, err := net.Dial("unix", sock); err == nil {
				return c
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no console")
		return nil
	}
	first := dial()
	r := bufio.NewReader(first)
	first.Write([]byte("one\n"))
	if l, _ := r.ReadString('\n'); l != "got one\n" {
		t.Fatalf("answer %q", l)
	}
	// This process is the relay: a low descriptor limit, then clients
	// until its accepts fail (each connection here takes one on each side).
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir("/proc/self/fd")
	low := lim
	low.Cur = uint64(len(entries) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	for range 64 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			break
		}
		held = append(held, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "left4me-relay: console: accept") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range held {
		c.Close()
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "too many open files; accepting again once clients leave") {
		t.Errorf("the relay did not say it ran out:\n%s", out.String())
	}
	late := dial()
	lr := bufio.NewReader(late)
	late.Write([]byte("two\n"))
	late.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		l, err := lr.ReadString('\n')
		if err != nil {
			t.Fatalf("a client after the shortage was not served: %v", err)
		}
		if l == "got two\n" {
			break
		}
	}
	late.Write([]byte("bye\n"))
	<-done
}

// A say's text is what follows its name, however the name ends (a quote,
// a break character): a long one is split all the same; among other
// commands a long say cannot be split, and is refused.
func TestLongSayHoweverTyped(t *testing.T) {
	long := strings.Repeat("word ", 40)
	for _, cmd := range []string{`say"` + long + `"`, `"say" ` + long, "say:" + long} {
		lines, why := Commands(cmd)
		if why != "" || len(lines) < 2 {
			t.Errorf("%q: %q %q", cmd, lines, why)
		}
	}
	if _, why := Commands("say " + long + "; status"); !strings.Contains(why, "send it alone to have it split") {
		t.Errorf("a long say among other commands: %q", why)
	}
}

// A client that leaves takes its writer with it: every send and every
// panel stream is a client, for the relay's whole life.
func TestConsoleClientsLeaveNothing(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "c.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := newConsole(make(chan string, 1000), func(uint32) bool { return true }, io.Discard)
	go c.serve(l)
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	for range 200 {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte("status\n"))
		conn.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine()-before > 20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine() - before; n > 20 {
		t.Errorf("%d goroutines more after 200 clients came and went", n)
	}
}
