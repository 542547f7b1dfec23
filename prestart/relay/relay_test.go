package relay

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lines is an io.Writer that keeps what the relay wrote, safely.
type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

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
		code, _ := Run([]string{"/bin/sh", "-c", `while read l; do [ "$l" = quit ] && exit 0; echo "got $l"; done`}, &out,
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
	if code := <-done; code != 0 || !strings.Contains(out.String(), "got hello there\n") {
		t.Errorf("exit %d, journal %q", code, out.String())
	}
}
