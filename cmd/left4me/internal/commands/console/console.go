package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/internal/relay"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/units"
)

// DefaultConsoleDir holds NAME/console.sock of every running server,
// bound by the start helper (layout.ConsoleDir).
const DefaultConsoleDir = layout.ConsoleDir

// sendQuiet is how long send waits after the server's last line.
const sendQuiet = time.Second

func SendCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "send",
		Usage:     "run one console command on a server and print what it answers",
		ArgsUsage: "NAME COMMAND...",
		Description: `Types COMMAND into the server's console and prints the lines the server
prints until it is quiet for a second. Only root and members of the group
left4me-admin may (usermod -aG left4me-admin YOU). The server's console
keeps printable ASCII only, 254 bytes a line: a command with a control
character (one command never becomes two), another character or more
bytes is refused rather than cut, a long say is sent as several, and quit
and exit are refused (use left4me stop). What the server prints is shown
with control characters escaped.

Examples:
  left4me send srv1 status
  left4me send srv1 say "map change in 5 minutes"`,
		BashComplete: e.CompleteNames,
		Action: func(c *cli.Context) error {
			if c.NArg() < 2 {
				return fmt.Errorf("%w: send takes an instance name and a command; e.g. left4me send srv1 status", fail.ErrUsage)
			}
			return e.Send(c.Context, c.Args().First(), strings.Join(c.Args().Tail(), " "), sendQuiet)
		},
	}
}

func ConsoleCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "console",
		Usage:     "attach to a server's console: live output, commands typed in",
		ArgsUsage: "NAME",
		Description: `Shows what the server prints as it prints it and sends each line typed
as a console command. Ctrl-D (end of input) detaches; it never stops the
server. Only root and members of left4me-admin may.

Example:
  left4me console srv1`,
		BashComplete: e.CompleteNames,
		Action: clienv.OnName(func(c *cli.Context, name string) error {
			return e.console(c.Context, name)
		}),
	}
}

// maxAnswerLine and maxAnswer bound what send keeps of a server's answer:
// a hostile server could answer without end.
const (
	maxAnswerLine = 16 << 10
	maxAnswer     = 4 << 20
)

// ConsoleDial connects to name's console and checks that its relay, the
// unit's main process, is the one listening (SO_PEERCRED), besides the
// socket living where only root can write: neither the server's own
// listener nor another server's socket is ever typed into.
func (e *Env) ConsoleDial(ctx context.Context, name string) (*net.UnixConn, error) {
	// A server whose spec was removed while it ran (orphaned) still has
	// its console, and its operator may want to warn its players: the
	// name was validated, and the peer check below still holds.
	_, specErr := e.Instance(name)
	if specErr != nil && !errors.Is(specErr, fail.ErrUnknownInstance) {
		return nil, specErr
	}
	dir := e.ConsoleDir
	if dir == "" {
		dir = DefaultConsoleDir
	}
	p := filepath.Join(dir, name, "console.sock")
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
	switch {
	case specErr != nil && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)):
		return nil, specErr
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("%w: %s is not running (no console at %s)", fail.ErrNotRunning, name, p)
	case errors.Is(err, syscall.EACCES):
		// The socket is root's and left4me-admin's (0660).
		return nil, fmt.Errorf("%w: the console of %s is for root and members of %s only (%v); run it with sudo, or have an administrator run: usermod -aG %s %s",
			fail.ErrPermission, name, layout.AdminGroup, err, layout.AdminGroup, whoami())
	case err != nil:
		return nil, fmt.Errorf("console of %s: %w", name, err)
	}
	if err := e.checkPeer(ctx, conn, name, p); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (e *Env) checkPeer(ctx context.Context, conn *net.UnixConn, name, path string) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return fmt.Errorf("console of %s: %w", name, err)
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return fmt.Errorf("console of %s: who listens on %s: %w", name, path, errors.Join(err, cerr))
	}
	u, err := e.UnitState(ctx, name)
	if err != nil {
		return fmt.Errorf("console of %s: %w", name, err)
	}
	if u.MainPID == 0 || uint32(cred.Pid) != u.MainPID {
		return fmt.Errorf("%w: %s is served by PID %d, not by %s's relay (main PID %d); refusing to send to it",
			fail.ErrPermission, path, cred.Pid, units.Instance(name), u.MainPID)
	}
	return nil
}

func (e *Env) Send(ctx context.Context, name, cmd string, quiet time.Duration) error {
	cmds, msg := relay.Commands(cmd)
	if msg != "" {
		return fmt.Errorf("%w: the command %s", fail.ErrUsage, msg)
	}
	conn, err := e.ConsoleDial(ctx, name)
	if err != nil {
		return err
	}
	defer conn.Close()
	return e.SendOn(ctx, conn, name, strings.Join(cmds, "\n"), quiet)
}

// SendOn types cmd into a dialed console and prints the answer.
func (e *Env) SendOn(ctx context.Context, conn *net.UnixConn, name, cmd string, quiet time.Duration) error {
	r := bufio.NewReaderSize(conn, maxAnswerLine)
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		// A refusing relay writes why and closes, maybe before our write:
		// its line is still queued on our side of the socket.
		_ = conn.SetReadDeadline(time.Now().Add(quiet))
		if line, _ := r.ReadString('\n'); strings.HasPrefix(line, "left4me: ") {
			return fmt.Errorf("%w: %s", fail.ErrPermission, strings.TrimSpace(strings.TrimPrefix(line, "left4me: ")))
		}
		return fmt.Errorf("console of %s: %w", name, err)
	}
	total := 0
	for got := false; ; {
		// Until the server is quiet for a moment after answering (or
		// never answers within a few seconds).
		wait := quiet
		if !got {
			wait = 5 * quiet
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		b, err := r.ReadSlice('\n') // at most maxAnswerLine: a longer line comes in pieces
		if len(b) > 0 {
			line := string(b)
			if strings.HasPrefix(line, "left4me: ") {
				return fmt.Errorf("%w: %s", fail.ErrPermission, termsafe.Line(strings.TrimSpace(strings.TrimPrefix(line, "left4me: "))))
			}
			got = true
			fmt.Fprintln(e.Stdout, termsafe.Line(strings.TrimSuffix(line, "\n")))
			if total += len(b); total > maxAnswer {
				return fmt.Errorf("the answer of %s is longer than %d MiB; cut", name, maxAnswer>>20)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			// The engine echoes what is typed as it reads it
			// (TextConsoleUnix.cpp), so a server that sent nothing back,
			// not even that, has not read its console: it reads it once
			// a frame, and a map load or a hang runs none.
			if !got && errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
				return fmt.Errorf("%s did not take the command within %v: nothing came back, not even its echo. The engine reads its console once a frame: it is loading a map, or hung (left4me status %s). The command stays typed and runs once it reads again", name, wait, name)
			}
			return nil // quiet after answering, or the server went away
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// refusalWait is how long console waits for a relay's refusal before it
// attaches: the relay checks its peer as it accepts.
const refusalWait = 200 * time.Millisecond

func (e *Env) console(ctx context.Context, name string) error {
	conn, err := e.ConsoleDial(ctx, name)
	if err != nil {
		return err
	}
	defer conn.Close()
	// A relay that refuses this user says why at once and closes: that is
	// an error, not a session (send: SendOn).
	r := bufio.NewReaderSize(conn, maxAnswerLine)
	_ = conn.SetReadDeadline(time.Now().Add(refusalWait))
	if b, _ := r.Peek(len("left4me: ")); string(b) == "left4me: " {
		line, _ := r.ReadString('\n')
		return fmt.Errorf("%w: %s", fail.ErrPermission, termsafe.Line(strings.TrimSpace(strings.TrimPrefix(line, "left4me: "))))
	}
	_ = conn.SetReadDeadline(time.Time{})
	fmt.Fprintf(e.Stderr, "attached to the console of %s; Ctrl-D detaches (the server keeps running)\n", name)
	done := make(chan error, 1)
	go func() {
		done <- CopyEscaped(e.Stdout, r)
	}()
	go func() {
		sc := bufio.NewScanner(e.Stdin)
		for sc.Scan() {
			cmds, msg := relay.Commands(sc.Text())
			if msg != "" {
				if msg != relay.EmptyCommand {
					fmt.Fprintf(e.Stderr, "not sent: %s\n", msg)
				}
				continue
			}
			if _, err := io.WriteString(conn, strings.Join(cmds, "\n")+"\n"); err != nil {
				break
			}
		}
		// End of input: detach, after the last answers had a moment.
		time.Sleep(sendQuiet)
		_ = conn.CloseWrite()
		_ = conn.SetReadDeadline(time.Now())
	}()
	select {
	case <-ctx.Done():
	case <-done:
	}
	fmt.Fprintf(e.Stderr, "detached from %s\n", name)
	return nil
}

// Say types "say MSG" into name's console, for its players to read, in
// several lines if it is long.
func (e *Env) Say(ctx context.Context, name, msg string) error {
	cmds, why := relay.SayCommands(msg)
	if why != "" {
		return fmt.Errorf("%w: the announcement %s", fail.ErrUsage, why)
	}
	conn, err := e.ConsoleDial(ctx, name)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = io.WriteString(conn, strings.Join(cmds, "\n")+"\n")
	return err
}

// CopyEscaped copies a server's lines to a terminal with their control
// characters escaped (package termsafe), a line at a time and in bounded
// pieces.
func CopyEscaped(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, maxAnswerLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			if _, werr := fmt.Fprintln(w, termsafe.Line(strings.TrimSuffix(string(b), "\n"))); werr != nil {
				return werr
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// whoami names the user running the command, for a hint; USER if unknown.
func whoami() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "USER"
}
