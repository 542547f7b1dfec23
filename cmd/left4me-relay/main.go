// Command left4me-relay is l4d2@.service's ExecStart: it runs the game
// server on a pseudo-terminal and copies its console to the journal line
// by line (see package relay). As the unit's main process (Type=notify) it
// also tells systemd when the server is up and whether it still is, the
// way a player's client tells, by A2S_INFO (package probe), as configured
// by the drop-in:
//
//	LEFT4ME_PROBE="ADDR:PORT START_TIMEOUT HANG_TIMEOUT"
//
// READY=1 once the server first answers there (it gives up, failing the
// start, after START_TIMEOUT, or at once when the server printed why it
// never can, such as Steam failing to load or sv_lan 1: LAN mode), or
// once it printed that it hibernates, or that it logged on to Steam while
// holding its game port (its answers dropped by a flood of others'). A
// server started with -nomaster never answers A2S: it is ready once its
// frames run. Then WATCHDOG=1 while it is alive (package probe: an
// answer, console output, frames running or its main thread reading
// files; not a main thread spinning without a pause); with HANG_TIMEOUT
// 0, while the relay itself runs and its socket count goes on (systemd
// gives such a unit layout.RelayWatchdog). Without the variable it
// reports ready at once. Its status line (STATUS=) says whether the
// server answers, with its players, or how it is alive, or that it
// hibernates as its console said (left4me list reads that: nobody is on
// it). At SIGTERM it types "quit" into the console.
// Under systemd, a server whose user holds more than layout.MaxSockets
// of the host's ephemeral ports (UDP and TCP) is killed, and the relay
// exits layout.SocketKillStatus.
// The server's lines are bounded in bytes (relay.Budget), by default
// relay.DefaultLogRate a second and relay.DefaultLogBurst at once:
//
//	LEFT4ME_LOG_BUDGET="RATE BURST" (such as "64K 4M"; "off": no bound)
//
// Usage: left4me-relay PROGRAM [ARG...]
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/internal/diag"
	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/cmd/internal/relay"
	"github.com/left4me/left4me/spec/layout"
)

const prog = "left4me-relay"

func main() {
	if len(os.Args) < 2 {
		diag.PrintError(os.Stderr, prog, errors.New("usage: left4me-relay PROGRAM [ARG...]"))
		os.Exit(2)
	}
	var pc probeConfig
	if v := os.Getenv("LEFT4ME_PROBE"); v != "" {
		var err error
		if pc, err = parseProbe(v); err != nil {
			diag.PrintError(os.Stderr, prog, err)
			os.Exit(2)
		}
	}
	rate, burst := int64(relay.DefaultLogRate), int64(relay.DefaultLogBurst)
	if v, ok := os.LookupEnv("LEFT4ME_LOG_BUDGET"); ok {
		// A typo in a log setting must not keep the game down: the
		// default budget, said.
		if r, b, err := relay.ParseLogBudget(v); err != nil {
			diag.PrintError(os.Stderr, prog, fmt.Errorf("%w; the default budget applies", err))
		} else {
			rate, burst = r, b
		}
	}
	// The server runs as our user: it must not trace us or write our
	// memory (our sd_notify messages are trusted, NotifyAccess=main).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		diag.PrintError(os.Stderr, prog, fmt.Errorf("PR_SET_DUMPABLE: %w", err))
		os.Exit(1)
	}
	var ready, stopping atomic.Bool
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		stopping.Store(true)
	}()
	l := &life{pid: make(chan int, 1), kick: make(chan struct{}, 1), others: otherPorts(os.Args[2:])}
	engine := make(chan int, 1)
	if os.Getenv("INVOCATION_ID") != "" { // under systemd: its user is the server's alone
		l.guarded = true
		limit, _ := openLimit() // before the server can lower it (blinded)
		go func() { guardSockets(<-engine, limit, ownPorts(pc.port(), l.others), &l.killed, &l.counted) }()
	}
	// The start helper binds the console socket where the server cannot
	// replace it and systemd passes it on (LEFT4ME_CONSOLE: run by hand).
	// So does its connection to systemd's notification socket, whose path
	// the unit hides from the server (see prestart.StoreNotify).
	console, conn, err := relay.Inherit(layout.ConsoleFDName, layout.NotifyFDName)
	if err != nil {
		diag.PrintError(os.Stderr, prog, err)
	}
	notify := relay.Notifier{Conn: conn}.Notify
	l.notify = notify
	o := relay.Options{Listener: console, Socket: os.Getenv("LEFT4ME_CONSOLE"), Allowed: relay.InAdminGroup("/etc"),
		Stop: "quit", Started: func(pid int) { l.pid <- pid; engine <- pid }, Line: l.line}
	if pc.addr == "" {
		_ = notify("READY=1")
		ready.Store(true)
	} else {
		go watch(pc, &ready, l, hasNoMaster(os.Args[2:]), notify)
	}
	// Under systemd the server's lines go to the journal at a fixed
	// priority (a line of its own starting "<0>" stays text).
	var out, warn io.Writer = os.Stdout, os.Stdout
	if relay.StdoutIsJournal() {
		out, warn = relay.AtPriority(os.Stdout, 6), relay.AtPriority(os.Stdout, 4)
	}
	// The server reaches the journal only through us (l4d2@.service hides
	// journald's sockets from it): its lines are bounded in bytes here.
	budget := &relay.Budget{Out: out, Notice: warn, Rate: rate, Burst: burst, Now: time.Now}
	o.Scope = func(s relay.Scope) {
		w := warn
		if s.Scoped {
			w = out
		}
		fmt.Fprintf(w, "%s: %s\n", prog, s.Note())
	}
	o.Lines = budget
	go func() {
		for range time.Tick(time.Second) {
			budget.Tick()
		}
	}()
	// The runtime's poller, made now: the server's user may lower our
	// open-file limit (prlimit) the moment it runs, and a poller made
	// after that fails (EMFILE) and ends the relay ("netpollinit
	// failed") before the socket count can say why (blinded). A timer
	// of AfterFunc's kind makes it at once.
	time.AfterFunc(time.Hour, func() {}).Stop()
	code, err := relay.Run(os.Args[1:], out, o)
	budget.Flush()
	if err != nil {
		diag.PrintError(os.Stderr, prog, err)
	}
	switch {
	case ready.Load(), l.killed.Load():
	case stopping.Load():
		// A stop while it started (a stop job canceled the start): asked
		// for, not an error.
		logf("the server was stopped before it answered A2S_INFO on %s", pc.addr)
	default:
		diag.PrintError(os.Stderr, prog, fmt.Errorf("the server exited before it answered A2S_INFO on %s", pc.addr))
	}
	if code == 0 && !stopping.Load() && !l.killed.Load() {
		// A quit typed into the console or sent by RCON, a plugin's, an
		// sv_shutdown once the game ended: not a stop systemd knows of,
		// so not a silent end for good (Restart=).
		diag.PrintError(os.Stderr, prog, errors.New("the server quit on its own (a console or RCON quit, sv_shutdown, a plugin); exiting 1 so systemd restarts it: stop it with left4me stop"))
		code = 1
	}
	os.Exit(exitCode(code, l.killed.Load()))
}

// life gathers the server's signs of life besides A2S: its console lines
// and its main thread's progress, and what it printed about Steam.
type life struct {
	pid         chan int
	kick        chan struct{} // a line came: ask for readiness again now
	lines       atomic.Uint64
	cause       atomic.Value // string
	hibernating atomic.Bool  // its console said so last (hibernate)
	steamUp     atomic.Bool
	notify      func(string) error // nil: systemd is not told
	port        uint16             // the game port, for the server's sockets
	others      []rolePort
	eng         *probe.Engine
	seen        uint64
	killed      atomic.Bool   // by guardSockets
	guarded     bool          // guardSockets runs (under systemd)
	counted     atomic.Uint64 // its counts so far
}

// line sees each console line.
func (l *life) line(b []byte) {
	l.lines.Add(1)
	select {
	case l.kick <- struct{}{}:
	default:
	}
	if why := steamCause(b); why != "" && l.cause.Load() == nil {
		l.cause.Store(why)
	}
	switch string(bytes.TrimRight(b, "\r\n")) {
	case hibernatingLine:
		l.hibernate(true)
	case wakingLine:
		l.hibernate(false)
	}
	// Logged on to Steam: the engine activates Steam when the server
	// becomes active, its map loaded (SV_InitGameServerSteam,
	// engine/sv_main.cpp; the line from CSteam3Server::OnLogonSuccess,
	// engine/sv_steamauth.cpp, Source 2013).
	if bytes.HasPrefix(b, []byte("Connection to Steam servers successful")) {
		l.steamUp.Store(true)
	}
}

// The lines the engine prints as it starts and stops hibernating, each
// once at the change: an L4D2 dedicated server's console shows both as
// sv_hibernate_when_empty is turned off and on again with nobody on
// (alliedmodders/sourcemod#2151), and CGameServer::SetHibernating prints
// them only when its state changes (engine/sv_main.cpp, cstrike15_src).
// It hibernates once its map is loaded with no human on, and when the
// last one leaves (UpdateHibernationState): up, though it answers no
// query (probe.Ready), with nobody on it (probe.HibernatingStatus). Only a
// whole line counts: a player's chat is printed as "NAME: TEXT".
const (
	hibernatingLine = "Server is hibernating"
	wakingLine      = "Server waking up from hibernation"
)

// hibernate records what the console said of hibernation and, at a
// change, tells systemd, so that the unit's status line (which
// `left4me list` reads) follows it even where no watch updates it
// (hang_timeout 0). The watch's next line may race this one; an answer to
// A2S, which an awake server gives, wins in list anyway.
func (l *life) hibernate(on bool) {
	if l.hibernating.Swap(on) == on || l.notify == nil {
		return
	}
	status := probe.HibernatingStatus("")
	if !on {
		status = "awake: its console said it woke from hibernation"
	}
	_ = l.notify("STATUS=" + status)
}

// steamCause recognizes the lines of a server whose Steam library did not
// load: it runs in LAN mode and never answers A2S, which goes through
// Steam (engine/sv_steamauth.cpp, Source 2013).
func steamCause(b []byte) string {
	// sv_lan 1 starts Steam without authentication and off the server
	// list, and the engine says so (CSteam3Server::Activate,
	// engine/sv_steamauth.cpp, Source 2013): a server players on the
	// internet can neither find nor join.
	if bytes.HasPrefix(b, []byte("Initializing Steam libraries for LAN server")) {
		return "it runs in LAN mode (sv_lan 1, in its arguments or cfg): Steam does not list it and players from outside the LAN cannot join; remove sv_lan 1 for an internet server"
	}
	low := strings.ToLower(string(b))
	if strings.Contains(low, "steamclient.so") && (strings.Contains(low, "fail") || strings.Contains(low, "error") || strings.Contains(low, "cannot open")) {
		return "Steam did not start (steamclient.so could not be loaded; left4me game install puts it in HOME/.steam/sdk32), so it runs in LAN mode: " + strings.TrimSpace(a2s.Clean(string(b)))
	}
	return ""
}

// early is probe.Ready's view of the console: up though not answering
// when it hibernates, or when it logged on to Steam and holds its game
// port (its answers dropped by a query limit others exhaust: a flood).
func (l *life) early() (string, string) {
	if v, ok := l.cause.Load().(string); ok {
		return "", v
	}
	if l.hibernating.Load() {
		return "the server hibernates (no answers while empty)", ""
	}
	if l.steamUp.Load() && l.eng != nil {
		if ok, _ := probe.HoldsUDPPort("/proc", l.eng.PID, l.port); ok {
			return fmt.Sprintf("the server is up (logged on to Steam, holding port %d; its answers dropped, a query limit?)", l.port), ""
		}
	}
	return "", ""
}

// alive is probe.Alive over the console and the engine's main thread: a
// line printed, frames running (it ran and slept) or files read or
// written (a map load) count; a main thread that only runs, without
// sleeping, printing or touching a file, spins in a busy loop: hung.
func (l *life) alive() (bool, string) {
	n := l.lines.Load()
	printed := n != l.seen
	l.seen = n
	if l.eng == nil {
		return printed, "console output"
	}
	a, err := l.eng.Sample()
	switch {
	case a.Stopped:
		return false, "the process is stopped (SIGSTOP)"
	case printed:
		return true, "console output"
	case a.Frames():
		return true, "frames running"
	case a.IO:
		return true, "reading or writing files"
	case err != nil:
		return false, err.Error()
	case a.Ran:
		return false, "its main thread spins without sleeping, printing or reading a file (a busy loop)"
	}
	return false, "its main thread ran no frame"
}

func hasNoMaster(args []string) bool {
	for _, a := range args {
		if strings.EqualFold(a, "-nomaster") {
			return true
		}
	}
	return false
}

// watch reports the server ready at its first answer, then feeds the
// watchdog. A server that never answers fails the start: the relay exits
// and systemd stops what is left of the unit.
func watch(pc probeConfig, ready *atomic.Bool, l *life, noMaster bool, notify func(string) error) {
	ctx := context.Background()
	l.eng = &probe.Engine{Proc: "/proc", PID: <-l.pid}
	if ap, err := netip.ParseAddrPort(pc.addr); err == nil {
		l.port = ap.Port()
	}
	if noMaster {
		// -nomaster: no A2S answers ever (engine/baseserver.cpp,
		// cstrike15_src); ready once the engine runs frames.
		if err := framesRunning(ctx, pc.start, l); err != nil {
			l.fail(err)
		}
		ready.Store(true)
		logf("ready: started with -nomaster, so it answers no A2S_INFO; its frames run")
		_ = notify("READY=1\nSTATUS=running with -nomaster (no A2S_INFO)")
	} else {
		info, err := probe.Ready(ctx, pc.addr, pc.start, l.early, l.kick, logf)
		if err == nil {
			err = l.ownsPort(pc.addr)
		}
		if err != nil {
			l.fail(err)
		}
		ready.Store(true)
		status := fmt.Sprintf("STATUS=answering A2S_INFO: %d/%d players, map %s", info.Players, info.MaxPlayers, info.Map)
		switch {
		case info != (a2s.Info{}):
		case l.hibernating.Load():
			status = "STATUS=" + probe.HibernatingStatus("")
		default:
			status = "STATUS=up, not answering A2S_INFO (a query limit?)"
		}
		if err := notify("READY=1\n" + status); err != nil {
			diag.PrintError(os.Stderr, prog, fmt.Errorf("tell systemd the server is ready: %w", err))
		}
	}
	if pc.hang <= 0 {
		var counted func() uint64
		if l.guarded {
			counted = l.counted.Load
		}
		feedWhileRunning(relayWatchdog(os.Getenv, os.Getpid()), counted, notify)
		return
	}
	_, _ = l.alive() // the first sample
	if err := probe.Watch(ctx, pc.addr, probe.Interval(pc.hang), pc.hang, notify, logf, l.alive, l.hibernating.Load); err != nil {
		diag.PrintError(os.Stderr, prog, fmt.Errorf("A2S watch: %w", err))
	}
}

// fail ends the relay for a start that failed (exit 1, systemd stops
// what is left of the unit), unless the socket guard killed the server:
// then main exits, with its status, after the server's last lines.
func (l *life) fail(err error) {
	if l.killed.Load() {
		select {}
	}
	diag.PrintError(os.Stderr, prog, err)
	os.Exit(1)
}

// framesRunning waits until the engine's main thread ran in two samples a
// second apart, within timeout.
func framesRunning(ctx context.Context, timeout time.Duration, l *life) error {
	end := time.Now().Add(timeout)
	n := 0
	for time.Now().Before(end) {
		if a, err := l.eng.Sample(); err != nil {
			return fmt.Errorf("the server exited before its frames ran: %w", err)
		} else if a.Frames() {
			if n++; n == 2 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("the server ran no frames within %v", timeout)
}

type probeConfig struct {
	addr        string
	start, hang time.Duration
}

// port is the game port the probe asks, 0 without one.
func (pc probeConfig) port() uint16 {
	if ap, err := netip.ParseAddrPort(pc.addr); err == nil {
		return ap.Port()
	}
	return 0
}

// parseProbe reads "IPv4:PORT START_TIMEOUT HANG_TIMEOUT".
func parseProbe(s string) (probeConfig, error) {
	f := strings.Fields(s)
	bad := func(why string) (probeConfig, error) {
		return probeConfig{}, fmt.Errorf("LEFT4ME_PROBE=%q: %s; want \"IPv4:PORT START_TIMEOUT HANG_TIMEOUT\"", s, why)
	}
	if len(f) != 3 {
		return bad("three fields")
	}
	ap, err := netip.ParseAddrPort(f[0])
	if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
		return bad("bad address")
	}
	start, err1 := time.ParseDuration(f[1])
	hang, err2 := time.ParseDuration(f[2])
	if err1 != nil || err2 != nil || start <= 0 || hang < 0 {
		return bad("bad timeout")
	}
	return probeConfig{addr: ap.String(), start: start, hang: hang}, nil
}

// logf writes one line per call, so the server's lines and ours stay whole.
func logf(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }
