package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/console"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/units"
)

// A relay that refuses writes why and closes before reading: the command
// written after that close fails with EPIPE, and send must still report
// the refusal, not "broken pipe" (seen in the e2e test on a clean clone).
func TestSendRefusedAfterClose(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, "srv1"))
	l, err := net.Listen("unix", filepath.Join(dir, "srv1", "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(conn, "left4me: refused: for root and members of left4me-admin only")
		conn.Close()
	}()
	te.ConsoleDir = dir
	te.relayIsUs("srv1")
	conn, err := te.console().ConsoleDial(context.Background(), "srv1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-closed
	// The close reaches us before our write: the write surely fails.
	err = te.console().SendOn(context.Background(), conn, "srv1", "status", 200*time.Millisecond)
	if !errors.Is(err, fail.ErrPermission) || !strings.Contains(err.Error(), "left4me-admin only") {
		t.Fatalf("got %v, want the relay's refusal", err)
	}
}

// relayIsUs makes name's unit run with this process as its main process,
// the relay whose console the test serves.
func (te *tenv) relayIsUs(name string) {
	u := te.sd.get(units.Instance(name))
	u.ActiveState, u.SubState, u.MainPID = "active", "running", uint32(os.Getpid())
	te.sd.units[units.Instance(name)] = u
}

// The console socket swapped for a link to another instance's socket, or
// for the server's own listener: send refuses to type into it, since its
// listener is not the unit's relay.
func TestSendChecksPeer(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "alpha", "port: 27015\n")
	te.spec(t, "bravo", "port: 27016\n")
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, "alpha"), filepath.Join(dir, "bravo"))
	// bravo's relay is this process; alpha's is PID 1 (not us).
	l, err := net.Listen("unix", filepath.Join(dir, "bravo", "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		b := make([]byte, 64)
		n, _ := conn.Read(b)
		got <- string(b[:n])
		conn.Close()
	}()
	if err := os.Symlink(filepath.Join(dir, "bravo", "console.sock"), filepath.Join(dir, "alpha", "console.sock")); err != nil {
		t.Fatal(err)
	}
	te.relayIsUs("bravo")
	u := te.sd.get(units.Instance("alpha"))
	u.ActiveState, u.MainPID = "active", 1
	te.sd.units[units.Instance("alpha")] = u
	te.ConsoleDir = dir
	err = te.console().Send(context.Background(), "alpha", "quit-not-really", 100*time.Millisecond)
	if !errors.Is(err, fail.ErrPermission) || !strings.Contains(err.Error(), "not by l4d2@alpha.service's relay (main PID 1)") {
		t.Fatalf("got %v", err)
	}
	select {
	case s := <-got:
		if s != "" {
			t.Errorf("bravo received %q", s)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// A server answering without end: send keeps a bounded amount, escapes
// what it prints and stops with a message.
func TestSendBoundedEscaped(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	serveConsoleConn(t, te, "srv1", func(conn net.Conn) {
		fmt.Fprint(conn, "\x1b]52;c;aGk=\x07title\n")
		chunk := []byte(strings.Repeat("A", 1<<20))
		for {
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	})
	var out strings.Builder
	te.Stdout = &out
	err := te.console().Send(context.Background(), "srv1", "status", time.Second)
	if err == nil || !strings.Contains(err.Error(), "longer than 4 MiB") {
		t.Errorf("err %v", err)
	}
	if strings.Contains(out.String(), "\x1b") || !strings.HasPrefix(out.String(), `\x1b]52;c;aGk=\atitle`) || out.Len() > 5<<20 {
		t.Errorf("printed %d bytes starting %q", out.Len(), out.String()[:40])
	}
}

// Commands a console would cut or mangle are refused, naming why; a long
// say is split.
func TestSendRefusesMangled(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	for cmd, want := range map[string]string{
		"say caf\u00e9":                       "keeps only printable ASCII",
		"sv_tags " + strings.Repeat("x", 300): "is 308 bytes: the server's console keeps 254",
		"quit":                                "use left4me stop NAME",
		"  ":                                  "the command is empty",
	} {
		err := te.console().Send(context.Background(), "srv1", cmd, time.Millisecond)
		if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.20q: %v", cmd, err)
		}
	}
}

// Server lines reach the terminal escaped on every path: logs -o cat and
// status's tail (send and console: TestSendBoundedEscaped).
func TestServerOutputEscaped(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	hostile := "\x1b]52;c;aGk=\x07\x1b[2J<0>hi"
	te.Journal = func(_ context.Context, _ []string, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, hostile)
		return nil
	}
	var out strings.Builder
	te.Stdout = &out
	if err := te.servers().Logs(context.Background(), "srv1", 0, false, []string{"--output", "cat"}); err != nil {
		t.Fatal(err)
	}
	if out.String() != `\x1b]52;c;aGk=\a\x1b[2J<0>hi`+"\n" {
		t.Errorf("logs -o cat: %q", out.String())
	}
	if tail := te.console().Tail(context.Background(), "l4d2@srv1.service", 5); strings.Contains(tail, "\x1b") {
		t.Errorf("status tail: %q", tail)
	}
}

// The console's count is the "players" line of status, at a line's start
// only: the rest of a line longer than the read buffer is no line of its
// own, whatever it says.
func TestConsoleHumans(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		want         console.Count
		err          string
	}{
		{"status", "hostname: x\nmap     : c1m1_hotel\nplayers : 3 humans, 1 bots (8 max) (not hibernating)\n\n#end\n", console.Count{Humans: 3}, ""},
		{"source 2013", "hostname: x\nplayers : 0 humans, 2 bots (8 max)\n", console.Count{}, ""},
		{"a long line's rest", "hostname: x\n" + strings.Repeat("A", 16<<10) + "players : 0 humans, 0 bots (8 max)\nplayers : 5 humans, 0 bots (8 max)\n", console.Count{Humans: 5}, ""},
		// A player named "players" saying "0 humans, gg" (Host_Say's
		// "NAME: TEXT") is no count.
		{"chat", "hostname: x\nplayers: 0 humans, gg\nplayers : 2 humans, 0 bots (8 max)\n", console.Count{Humans: 2}, ""},
		// Two counts (one forged in the same moment): none is believed.
		{"two counts", "hostname: x\nplayers : 0 humans, 0 bots (8 max)\nplayers : 2 humans, 0 bots (8 max)\n", console.Count{}, "(2 players lines)"},
		{"no hostname", "players : 0 humans, 0 bots (8 max)\n", console.Count{}, "not one hostname and one players line"},
		{"refused", "left4me: refused: for root and members of left4me-admin only\n", console.Count{}, "left4me-admin only"},
		{"no count", "Unknown command \"status\"\n", console.Count{}, "not one hostname and one players line (0 players lines)"},
		// L4D2's lobby reservation ends the line, the lobby's id in hex.
		{"reserved", "hostname: x\nplayers : 0 humans, 0 bots (12 max) (not hibernating) (reserved 186000047cf0fd8)\n\n#end\n", console.Count{Reserved: true}, ""},
		{"reserved, played", "hostname: x\nplayers : 3 humans, 0 bots (12 max) (not hibernating) (reserved 186000047bb2ba4)\n", console.Count{Humans: 3, Reserved: true}, ""},
		{"reserved, no id", "hostname: x\nplayers : 0 humans, 0 bots (16 max) (not hibernating) (reserved)\r\n", console.Count{Reserved: true}, ""},
		{"unreserved", "hostname: x\nplayers : 0 humans, 0 bots (12 max) (not hibernating) (unreserved)\n", console.Count{}, ""},
		{"not the engine's words", "hostname: x\nplayers : 0 humans, 0 bots (12 max) (not hibernating) (reserved 1x)\n", console.Count{}, ""},
		{"not at the end", "hostname: x\nplayers : 0 humans, 0 bots (12 max) (reserved 1) (unreserved)\n", console.Count{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "srv1", "port: 27015\n")
			te.relayIsUs("srv1")
			te.ConsoleDir = answeringConsole(t, "srv1", tc.answer)
			got, err := te.console().Humans(context.Background(), "srv1", 300*time.Millisecond)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// send to a stopped server says so: unlike status, its output said
// nothing, so the error is printed (exit code 3 all the same).
func TestSendToAStoppedServerSaysSo(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv2", "port: 27015\n")
	err := te.run("send", "srv2", "status")
	if fail.Code(err) != fail.CodeNotRunning || fail.Silent(err) || !strings.Contains(err.Error(), "srv2 is not running (no console at ") {
		t.Fatalf("code %d, silent %v: %v", fail.Code(err), fail.Silent(err), err)
	}
}

// A server whose spec was removed while it runs (orphaned) keeps its
// console: send reaches its relay, still checked; without a console the
// name is unknown, as before.
func TestSendToAnOrphan(t *testing.T) {
	te := newEnv(t)
	te.ConsoleDir = serveConsole(t, "gone", func(line string) string { return "typed " + line + "\n" })
	te.relayIsUs("gone")
	if err := te.run("send", "gone", "say bye"); err != nil {
		t.Fatalf("send to an orphan: %v", err)
	}
	if got := readFile(t, filepath.Join(te.ConsoleDir, "asked")); !strings.Contains(got, "say bye") {
		t.Errorf("typed %q", got)
	}
	err := te.run("send", "never", "status")
	if !errors.Is(err, fail.ErrUnknownInstance) {
		t.Errorf("send to an instance that never was: %v", err)
	}
	if err := te.run("send", "../gone", "status"); err == nil || errors.Is(err, fail.ErrUnknownInstance) {
		t.Errorf("a bad name: %v", err)
	}
}

// console, refused by the relay, fails as send does (exit 6), without
// saying it attached.
func TestConsoleRefused(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, "srv1"))
	l, err := net.Listen("unix", filepath.Join(dir, "srv1", "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(conn, "left4me: refused: for root and members of left4me-admin only")
		conn.Close()
	}()
	te.ConsoleDir = dir
	te.relayIsUs("srv1")
	err = te.run("console", "srv1")
	if fail.Code(err) != fail.CodePermission || !strings.Contains(err.Error(), "left4me-admin only") || strings.Contains(te.err.String(), "attached") {
		t.Fatalf("code %d: %v\nstderr %s", fail.Code(err), err, te.err)
	}
}

// A server that sends nothing back, not even the echo the engine prints of
// what it reads, has not read its console (a map load, a hang): send says
// so and fails, where it used to print nothing and exit 0 (operator
// review). One that echoes and answers, or echoes only, succeeds.
func TestSendToAServerThatDoesNotRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answer  string // what the relay hands back; "" nothing
		wantErr string
	}{
		{"hung", "", "srv1 did not take the command within 250ms: nothing came back, not even its echo"},
		{"echo only", "status\n", ""},
		{"answers", "status\nhostname: x\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "srv1", "port: 27015\n")
			serveConsoleConn(t, te, "srv1", func(conn net.Conn) {
				bufio.NewReader(conn).ReadString('\n')
				io.WriteString(conn, tc.answer)
				time.Sleep(time.Second) // then quiet, the connection open
			})
			err := te.console().Send(context.Background(), "srv1", "status", 50*time.Millisecond)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || fail.Code(err) != fail.CodeFailure) {
				t.Fatalf("got %v (code %d), want %q", err, fail.Code(err), tc.wantErr)
			}
			if tc.answer != "" && !strings.Contains(te.out.String(), "status") {
				t.Errorf("stdout %q", te.out)
			}
		})
	}
}

// serveConsoleConn serves name's console socket in a directory of its
// own, as its relay (this process): serve gets the first connection
// (serveConsole answers line by line).
func serveConsoleConn(t *testing.T, te *tenv, name string, serve func(net.Conn)) {
	t.Helper()
	l, dir := consoleListener(t, name)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		serve(conn)
	}()
	te.ConsoleDir = dir
	te.relayIsUs(name)
}

// consoleListener listens on name's console socket in a new console
// directory, which it returns.
func consoleListener(t *testing.T, name string) (net.Listener, string) {
	t.Helper()
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, name))
	l, err := net.Listen("unix", filepath.Join(dir, name, "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, dir
}
