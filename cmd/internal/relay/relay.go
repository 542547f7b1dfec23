// Package relay runs the game server on a pseudo-terminal and copies what
// it prints to its own standard output (the journal, under systemd) line
// by line. srcds writes its console with C stdio, which is fully buffered
// (4 KiB) when stdout is a pipe: under systemd its lines reached the
// journal in bursts, minutes late on a quiet server, and the tail was lost
// when it was killed. On a terminal stdio is line-buffered (ISO C 7.21.3,
// "the standard output stream is ... not fully buffered if it refers to an
// interactive device"), so every line is written, and kept by the
// terminal, the moment the server prints it.
package relay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxLine bounds one relayed line; a longer one is cut and continued.
const maxLine = 16 << 10

// Options of Run.
type Options struct {
	// Listener serves the console (left4me send, left4me console), or
	// else a socket the relay creates at Socket; neither: none.
	Listener *net.UnixListener
	Socket   string
	// Allowed decides who may use it, by uid (InAdminGroup).
	Allowed func(uid uint32) bool
	// Stop is typed into the console at SIGTERM or SIGINT ("quit"); ""
	// leaves the signal to the server.
	Stop string
	// Started is told the server's PID; Line sees each line it prints.
	Started func(pid int)
	Line    func(line []byte)
	// Scope is told how the server was fenced off (startScoped).
	Scope func(Scope)
	// Lines is where the server's lines go (a Budget); nil: out, which
	// gets the relay's own lines.
	Lines io.Writer
}

// Run starts argv on a new pseudo-terminal, copies its output to out line
// by line until it exits and returns the exit status to exit with: its
// own, or 128+N when signal N killed it (the shell's convention), so
// systemd's Restart=on-failure sees a failure either way.
//
// The stop signal reaches the relay alone (KillMode=mixed): the relay
// types o.Stop into the console, as LinuxGSM (stopmode "quit") and AMP
// (ExitString) stop Source servers, since engines differ in what a signal
// does to them (Source 2013 has no SIGINT handler and dies of it, CS:GO
// delays it while players are on). It then waits for the server to exit;
// a server that never does is killed by systemd at TimeoutStopSec. A
// caught signal, unlike an ignored one, is reset to its default in the
// server at exec. The server gets the relay's environment without
// NOTIFY_SOCKET: only the relay talks to systemd.
func Run(argv []string, out io.Writer, o Options) (int, error) {
	if len(argv) == 0 {
		return 2, errors.New("no command to run")
	}
	master, slave, err := openPTY()
	if err != nil {
		return 1, err
	}
	defer master.Close()
	var con *console
	if l := o.Listener; l != nil || o.Socket != "" {
		if l == nil {
			if l, err = listen(o.Socket); err != nil {
				slave.Close()
				return 1, err
			}
		}
		defer l.Close()
		con = newConsole(make(chan string), o.Allowed, out)
		go con.serve(l)
	}
	typed := make(chan string)
	go func() {
		for cmd := range typed {
			_, _ = master.Write([]byte(cmd + "\n"))
		}
	}()
	if con != nil {
		go func() {
			for cmd := range con.input {
				typed <- cmd
			}
		}()
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.Env = serverEnv(os.Environ())
	scope, err := startScoped(cmd)
	if err != nil {
		slave.Close()
		return 127, fmt.Errorf("start %s: %w", argv[0], err)
	}
	if o.Scope != nil {
		o.Scope(scope)
	}
	slave.Close() // the server holds its own; EIO on master then means it is gone
	if o.Started != nil {
		o.Started(cmd.Process.Pid)
	}
	lines := o.Lines
	if lines == nil {
		lines = out
	}
	copied := make(chan error, 1)
	go func() {
		copied <- copyLines(master, lines, func(line []byte) {
			if o.Line != nil {
				o.Line(line)
			}
			if con != nil {
				con.broadcast(line)
			}
		})
	}()
	go func() {
		stopping := false
		for range sigs {
			if o.Stop == "" || stopping {
				continue // wait for the server
			}
			stopping = true
			fmt.Fprintf(out, "left4me-relay: stopping: typing %q into the console\n", o.Stop)
			typed <- o.Stop
		}
	}()
	werr := cmd.Wait()
	cerr := <-copied
	if cerr != nil {
		fmt.Fprintf(os.Stderr, "relay: %v\n", cerr)
	}
	var ee *exec.ExitError
	switch {
	case werr == nil:
		return 0, nil
	case errors.As(werr, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 1, werr
}

// copyLines writes each line read from r to out in one write, without the
// terminal's carriage returns, until r ends (EIO: the terminal's last
// user is gone and everything it wrote has been read).
func copyLines(r io.Reader, out io.Writer, also func([]byte)) error {
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 4096)
	for {
		n, err := r.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 && len(buf) < maxLine {
				break
			}
			if i < 0 {
				i = maxLine - 1
			}
			line := append(Redact(visibleNUL(bytes.TrimRight(buf[:i], "\r"))), '\n')
			if _, werr := out.Write(line); werr != nil {
				return werr
			}
			also(line)
			buf = buf[i+1:]
		}
		if err != nil {
			if len(buf) > 0 {
				_, _ = out.Write(append(Redact(visibleNUL(bytes.TrimRight(buf, "\r"))), '\n'))
			}
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO) {
				return nil
			}
			return err
		}
	}
}

// serverEnv is env without NOTIFY_SOCKET (what the server or a plugin
// could send there would be heard as the relay's) and without the relay's
// LISTEN_* descriptors.
func serverEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != "NOTIFY_SOCKET" && k != "LISTEN_FDS" && k != "LISTEN_PID" && k != "LISTEN_FDNAMES" {
			out = append(out, kv)
		}
	}
	return out
}

// openPTY opens a new pseudo-terminal pair. The slave does not echo: what
// is typed into the console (left4me send) is not printed back as output.
func openPTY() (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("unlock the pseudo-terminal: %w", err)
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	sfd := int(r)
	if errno != 0 {
		err = errno
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("open the pseudo-terminal's other end: %w", err)
	}
	if t, err := unix.IoctlGetTermios(sfd, unix.TCGETS); err == nil {
		t.Lflag &^= unix.ECHO | unix.ECHONL
		_ = unix.IoctlSetTermios(sfd, unix.TCSETS, t)
	}
	return os.NewFile(uintptr(mfd), "/dev/ptmx"), os.NewFile(uintptr(sfd), "pty"), nil
}

// visibleNUL writes each NUL as the text \x00: journald's stream ends a
// line at a NUL as at a newline and reads a new "<N>" priority after it
// (src/journal/journald-stream.c), so a server could otherwise log at
// priority 0 (wall) or forge the relay's own notices.
func visibleNUL(b []byte) []byte {
	if bytes.IndexByte(b, 0) < 0 {
		return b
	}
	return bytes.ReplaceAll(b, []byte{0}, []byte(`\x00`))
}
