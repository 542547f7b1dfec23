package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/left4me/left4me/spec/layout"
)

// AdminGroup may use the console besides root (layout.AdminGroup).
const AdminGroup = layout.AdminGroup

// MaxCommand is the longest command the engine's console keeps whole: its
// line buffer is MAX_CONSOLE_TEXTLEN, 256 bytes (dedicated/console/
// textconsole.h, cstrike15_src), of which CTextConsole::ReceiveStandardChar
// (textconsole.cpp) fills 254, dropping what comes after silently.
const MaxCommand = 254

// console serves the server's console on a unix socket: every client gets
// the lines the server prints from its connection on, and each line it
// sends is typed into the server's console. Only root and members of
// AdminGroup are served (SO_PEERCRED), as the socket's owner and mode
// (root:AdminGroup 0660, set by the start helper) already demand.
type console struct {
	mu      sync.Mutex
	clients map[net.Conn]chan []byte
	input   chan string // to the terminal
	allowed func(uid uint32) bool
	audit   io.Writer // who typed what, for the journal
}

func newConsole(input chan string, allowed func(uint32) bool, audit io.Writer) *console {
	return &console{clients: map[net.Conn]chan []byte{}, input: input, allowed: allowed, audit: audit}
}

// serve accepts clients on l until it is closed. Out of descriptors
// (EMFILE: many clients at once) or memory, it says so once and tries
// again after a pause, as net/http's Server does, rather than serve no
// console until the server restarts.
func (c *console) serve(l *net.UnixListener) {
	var pause time.Duration
	for {
		conn, err := l.AcceptUnix()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			if pause == 0 {
				fmt.Fprintf(c.audit, "left4me-relay: console: %v; accepting again once clients leave\n", err)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			time.Sleep(pause)
			continue
		}
		pause = 0
		go c.client(conn)
	}
}

func (c *console) client(conn *net.UnixConn) {
	defer conn.Close()
	uid, err := peerUID(conn)
	if err != nil || !c.allowed(uid) {
		fmt.Fprintf(conn, Refusal+"the console is for root and members of %s only\n", AdminGroup)
		return
	}
	out := make(chan []byte, 256)
	c.mu.Lock()
	c.clients[conn] = out
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.clients, conn)
		close(out) // its writer ends; broadcast sends under c.mu
		c.mu.Unlock()
	}()
	go func() {
		for line := range out {
			if _, err := conn.Write(line); err != nil {
				return
			}
		}
	}()
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, MaxCommand+1), MaxCommand+1)
	for sc.Scan() {
		cmd := sc.Text()
		if msg := CheckCommand(cmd); msg != "" {
			fmt.Fprintf(conn, Refusal+"refused: %s\n", msg)
			continue
		}
		// Who typed what goes to the journal as the relay's own line,
		// secrets redacted: the server's echo of it is the server's output,
		// which its log budget may drop while a plugin floods.
		fmt.Fprintf(c.audit, "left4me-relay: console: uid %d typed: %s\n", uid, Redact([]byte(cmd)))
		c.input <- cmd
	}
}

// Refusal begins the relay's own word to a client ("left4me: ..."), which
// the CLI takes for a refusal: a server line that begins so (a plugin's)
// reaches clients with a space before it, so it cannot pose as one.
const Refusal = "left4me: "

// broadcast hands a line the server printed to every client; a client too
// slow to take it misses it rather than holding the server up.
func (c *console) broadcast(line []byte) {
	if bytes.HasPrefix(line, []byte(Refusal)) {
		line = append([]byte{' '}, line...)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, out := range c.clients {
		select {
		case out <- line:
		default:
		}
	}
}

// CheckCommand refuses what the console would not run as written: a
// control character (a newline would make one command two), a character
// the engine drops (it keeps only 0x20-0x7E, TextConsoleUnix.cpp in
// cstrike15_src), a line longer than its buffer, and quit or exit, which
// would end the server behind systemd's back, as any of the commands the
// line runs (engineCommands: "say bye; quit" is two), or in what an
// alias it defines or sm_rcon would run (quits).
func CheckCommand(cmd string) string {
	for _, r := range cmd {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Sprintf("contains the control character %q", r)
		}
		if r > 0x7e {
			return fmt.Sprintf("contains %q: the server's console keeps only printable ASCII and would drop it", r)
		}
	}
	if len(cmd) > MaxCommand {
		return fmt.Sprintf("is %d bytes: the server's console keeps %d and would cut the rest", len(cmd), MaxCommand)
	}
	if strings.TrimSpace(cmd) == "" {
		return EmptyCommand
	}
	if v := quits(cmd, 3); v != "" {
		return v + " would stop the server behind systemd's back; use left4me stop NAME (or left4me restart NAME)"
	}
	return ""
}

// EmptyCommand is CheckCommand's word for a blank line, which the
// console session skips quietly and send refuses ("the command is empty").
const EmptyCommand = "is empty"

// Redact returns a copy of a console line with the value after a
// password setting replaced, in each command the line runs
// (engineCommands): the engine echoes what is typed (rcon_password,
// sv_password, sm_... passwords), and the journal is readable by more
// people than the secret is meant for.
func Redact(line []byte) []byte {
	var out []byte
	prev := 0
	for _, c := range engineCommands(string(line)) {
		out = append(out, line[prev:c.start]...)
		out = append(out, redactOne(line[c.start:c.end])...)
		prev = c.end
	}
	return append(out, line[prev:]...)
}

// HoldsSecret reports whether line sets a password by Redact's rule (it
// would redact something): the one list of what counts as a secret, for
// the journal and for a spec's file mode alike.
func HoldsSecret(line string) bool {
	return !bytes.Equal(Redact([]byte(line)), []byte(line))
}

// redactOne is Redact of a single command: what follows a word with
// "password" among its first three, unless it is the last, is replaced.
// Its words are the engine's (words: rcon_password"x" sets x).
func redactOne(cmd []byte) []byte {
	ws := words(string(cmd))
	for i, w := range ws {
		if i == 3 {
			break
		}
		if !strings.Contains(strings.ToLower(text(string(cmd), w)), "password") || i == len(ws)-1 {
			continue
		}
		return append(append([]byte{}, cmd[:w.end]...), " [redacted]"...)
	}
	return append([]byte{}, cmd...)
}

func peerUID(conn *net.UnixConn) (uint32, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	return cred.Uid, nil
}

// InAdminGroup reports whether uid is root or a member of AdminGroup, from
// the files of /etc (passwd for the primary group, group for the rest).
func InAdminGroup(etc string) func(uid uint32) bool {
	return func(uid uint32) bool {
		if uid == 0 {
			return true
		}
		group, err := os.ReadFile(etc + "/group")
		if err != nil {
			return false
		}
		var gid, members string
		for line := range bytes.Lines(group) {
			f := strings.Split(strings.TrimSpace(string(line)), ":")
			if len(f) == 4 && f[0] == AdminGroup {
				gid, members = f[2], f[3]
			}
		}
		if gid == "" {
			return false
		}
		passwd, err := os.ReadFile(etc + "/passwd")
		if err != nil {
			return false
		}
		id := strconv.FormatUint(uint64(uid), 10)
		for line := range bytes.Lines(passwd) {
			f := strings.Split(strings.TrimSpace(string(line)), ":")
			if len(f) < 4 || f[2] != id {
				continue
			}
			if f[3] == gid {
				return true
			}
			for _, m := range strings.Split(members, ",") {
				if m == f[0] {
					return true
				}
			}
		}
		return false
	}
}

// listen opens the console socket at path, replacing a stale one.
func listen(path string) (*net.UnixListener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // SO_PEERCRED decides
		l.Close()
		return nil, fmt.Errorf("console socket %s: %w", path, err)
	}
	return l, nil
}

// Commands returns the console lines that type cmd: cmd itself, or, for a
// say (its one command) longer than players read, says that they read
// whole (sayLines: quoted, at most what the game shows of one, split
// between words). why says what is wrong with cmd when it cannot be
// typed as written (see CheckCommand).
func Commands(cmd string) (lines []string, why string) {
	cs := engineCommands(cmd)
	for _, c := range cs {
		one := cmd[c.start:c.end]
		ws := words(one)
		if len(ws) == 0 || !strings.EqualFold(text(one, ws[0]), "say") {
			continue
		}
		msg := argsAfter(one, ws[0])
		if len(msg) <= maxSay { // players read it whole as typed
			continue
		}
		if len(cs) > 1 {
			return nil, fmt.Sprintf("has a say of %d bytes among other commands: players read %d bytes of one; send it alone to have it split", len(msg), maxSay)
		}
		return SayCommands(msg)
	}
	if why := CheckCommand(cmd); why != "" {
		return nil, why
	}
	return []string{cmd}, ""
}

// SayCommands returns the console lines that tell players message, as
// text whatever it holds (a ';' or "//" too): quoted says that players
// read whole (sayLines). why says why it cannot be told.
func SayCommands(message string) (lines []string, why string) {
	for _, r := range message {
		if r < 0x20 || r > 0x7e {
			return nil, CheckCommand(message)
		}
	}
	return sayLines(message)
}

// Inherit returns what systemd passed from the unit's descriptor store
// (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES; sd_listen_fds(3)): the
// listening socket named listener and the connected datagram socket named
// dgram, each nil when not passed. Every descriptor systemd passed is
// closed: the server must not inherit them.
func Inherit(listener, dgram string) (*net.UnixListener, *net.UnixConn, error) {
	if pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID")); pid != os.Getpid() {
		return nil, nil, nil
	}
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	var found *net.UnixListener
	var conn *net.UnixConn
	var errs []error
	for i := range n {
		f := os.NewFile(uintptr(3+i), "listen-fd")
		name := ""
		if i < len(names) {
			name = names[i]
		}
		switch {
		case name == listener && found == nil:
			l, err := net.FileListener(f)
			if ul, ok := l.(*net.UnixListener); err == nil && ok {
				found = ul
				// listen(2) again: the credentials a client reads
				// (SO_PEERCRED) become the relay's, the unit's main
				// process, not the start helper's (unix_listen() in
				// net/unix/af_unix.c sets them at every call).
				if err := relisten(ul); err != nil {
					errs = append(errs, fmt.Errorf("the %s socket from systemd: listen: %w", name, err))
				}
			} else {
				errs = append(errs, fmt.Errorf("the %s socket from systemd: %w", name, errors.Join(err, errors.New("not a unix listening socket"))))
			}
		case name == dgram && conn == nil:
			c, err := net.FileConn(f)
			if uc, ok := c.(*net.UnixConn); err == nil && ok {
				conn = uc
			} else {
				errs = append(errs, fmt.Errorf("the %s socket from systemd: %w", name, errors.Join(err, errors.New("not a unix socket"))))
			}
		}
		f.Close()
	}
	return found, conn, errors.Join(errs...)
}

func relisten(l *net.UnixListener) error {
	raw, err := l.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := raw.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), syscall.SOMAXCONN) }); err != nil {
		return err
	}
	return lerr
}
