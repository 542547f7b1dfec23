package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The engine runs its frame loop on the process's main thread (the
// dedicated server's RunServer loop, dedicated/sys_ded.cpp in both
// nillerusr/source-engine and cstrike15_src); the relay judges liveness
// by that thread's progress, so the stand-in's loop runs there too.
func init() { runtime.LockOSThread() }

// frameEvery paces the stand-in's frame loop: one wake-up of the main
// thread per frame. The real dedicated server sleeps in CEngine::Frame
// (engine/sys_engine.cpp, nillerusr/source-engine and cstrike15_src:
// usleep until the frame's time has come) and runs a server tick per
// interval_per_tick (_Host_RunFrame, engine/host.cpp): 30 a second in
// L4D2 (tickrate 30, 33 ms). The stand-in's frame is slower, 100 ms, to
// spare the test host: the harsher, as queries wait for it
// (processSocket).
const frameEvery = 100 * time.Millisecond

// Signal behaviours of the engines left4me may run (STANDIN_SIGNALS):
const (
	// sigNone: Source 2013 (nillerusr/source-engine, first import) installs
	// no SIGINT or SIGTERM handler, so either kills the process.
	sigNone = "none"
	// sigDelay: the CS:GO source (perilouswithadollarsign/cstrike15_src)
	// answers SIGINT with "SIGINT received, live server, delaying
	// request." while players are on, and quits on it when empty.
	sigDelay = "delay"
	// sigClean: a handler that quits cleanly on SIGINT or SIGTERM.
	sigClean = "clean"
)

// engineMode is what the switches make of the engine's behaviour.
type engineMode struct {
	signals string
	// mapLoad: how long each map load takes. The load runs on the main
	// thread within one frame (CHostState::State_NewGame calls
	// Host_NewGame "right away", engine/host_state.cpp, both sources), so
	// meanwhile no query is read, let alone answered:
	// they queue in the socket and the next frame answers those left
	// (loadMap). Had a frame run, CS:GO would drop them, the server not
	// being active (CBaseServer::ProcessConnectionlessPacket, engine/
	// baseserver.cpp, cstrike15_src). No console is read either; the
	// stand-in prints nothing meanwhile, harsher than the real one.
	mapLoad time.Duration
	// hibernate: a server with no human on it hibernates, at its start
	// and whenever the last human leaves (CGameServer::
	// UpdateHibernationState, engine/sv_main.cpp, cstrike15_src; bots do
	// not count and are punted): it prints "Server is hibernating", once
	// at the change (SetHibernating, same file; an L4D2 dedicated
	// server's console shows the line, alliedmodders/sourcemod#2151),
	// sleeps per frame (sv_hibernate_ms; LinuxGSM#949: console input
	// lags while hibernating) and, as L4D2 servers do since the June
	// 2021 update, stops answering queries (ValveSoftware/
	// Source-1-Games#3611: it "disappear[s] from server list when
	// hibernating"). The engine prints "Server waking up from
	// hibernation" when a human comes (the same two sources); no human
	// ever comes to the stand-in, so it never wakes.
	hibernate bool
	// lan: Steam failed to start, so the server runs in LAN mode and
	// never answers A2S, which goes through the Steam library in Source
	// 2013 (issue 24). The lines printed are the dynamic loader's for a
	// missing steamclient.so, as operators report them.
	lan bool
	// maxQueries: sv_max_queries_sec_global, queries answered per second
	// from all addresses together; the rest are dropped. 0: no limit.
	maxQueries int
	// perIP, window: sv_max_queries_sec and sv_max_queries_window, the
	// engine's per-address limit (ipratelimit.go), on by default with the
	// engine's values. perIP 0: no limit.
	perIP, window float64
	// a2sMap: the map name A2S_INFO reports, when set (a hostile server's
	// answer in attack tests; Go-quoted in the switch).
	a2sMap string
	// dumpCrash: crash after this long, dumping like breakpad.
	dumpCrash time.Duration
}

func readEngineMode(getenv func(string) string) (engineMode, error) {
	m := engineMode{signals: getenv("STANDIN_SIGNALS")}
	switch m.signals {
	case "":
		m.signals = sigNone // the harshest: Source 2013
	case sigNone, sigDelay, sigClean:
	default:
		return m, fmt.Errorf("STANDIN_SIGNALS=%q: want none, delay or clean", m.signals)
	}
	var err error
	if m.mapLoad, err = envDuration(getenv, "STANDIN_MAPLOAD"); err != nil {
		return m, err
	}
	if m.dumpCrash, err = envDuration(getenv, "STANDIN_CRASH_DUMP_AFTER"); err != nil {
		return m, err
	}
	m.hibernate = getenv("STANDIN_HIBERNATE") == "1"
	m.lan = getenv("STANDIN_LAN") == "1"
	if m.maxQueries, err = envCount(getenv, "STANDIN_MAX_QUERIES_SEC"); err != nil {
		return m, err
	}
	if m.perIP, m.window, err = readIPLimit(getenv); err != nil {
		return m, err
	}
	if v := getenv("STANDIN_A2S_MAP"); v != "" {
		if m.a2sMap, err = strconv.Unquote(v); err != nil {
			return m, fmt.Errorf("STANDIN_A2S_MAP: want a Go-quoted string: %w", err)
		}
	}
	return m, nil
}

// steamFailed prints what the engine prints when steamclient.so cannot be
// loaded (operators' logs of srcds; the path is the one srcds tries).
func steamFailed(out io.Writer) {
	home := os.Getenv("HOME")
	fmt.Fprintf(out, "dlopen failed trying to load:\n%s/.steam/sdk32/steamclient.so\nwith error:\n%s/.steam/sdk32/steamclient.so: cannot open shared object file: No such file or directory\n", home, home)
	fmt.Fprintln(out, "[S_API FAIL] SteamAPI_Init() failed; unable to locate a running instance of Steam, or a local steamclient.so.")
}

// gate decides which queries the server answers.
type gate struct {
	closed  atomic.Bool // hibernating, -nomaster or LAN mode: dropped
	perIP   *ipLimit    // sv_max_queries_sec; nil: no limit
	max     int
	mu      sync.Mutex
	second  time.Time
	counted int
}

// answer reports whether a query from the address from arriving now is
// answered. The per-address limit counts it first, whatever happens to it
// next: CS:GO checks CheckConnectionLessRateLimits before whether the
// server is active (CBaseServer::ProcessConnectionlessPacket, engine/
// baseserver.cpp, cstrike15_src), so queries to a loading or hibernating
// server use up the asker's budget too. A query the per-address limit drops
// does not count towards the global one ("so one person dosing doesn't
// add to the global max rate", CIPRateLimit::CheckIP, cstrike15_src).
func (g *gate) answer(from netip.Addr, now time.Time) bool {
	if g.perIP != nil && !g.perIP.allow(from, now) {
		return false
	}
	if g.closed.Load() {
		return false
	}
	if g.max <= 0 {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := now.Truncate(time.Second); !s.Equal(g.second) {
		g.second, g.counted = s, 0
	}
	g.counted++
	return g.counted <= g.max
}

// loadMap is a map load on the main thread: busy a tenth of the time
// (reading and building the level), for d. No frame of the server runs
// meanwhile (SV_Frame returns before sv.RunFrame while the server is not
// active, engine/sv_main.cpp, nillerusr/source-engine), so nothing reads
// its socket: queries queue, and the first frame after the load answers
// those still there (processSocket).
func loadMap(d time.Duration, logf func(string, ...any)) {
	if d <= 0 {
		return
	}
	_ = logf // a real load prints; the stand-in stays silent on purpose
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		spin := time.Now().Add(frameEvery / 10)
		for time.Now().Before(spin) {
		}
		time.Sleep(frameEvery - frameEvery/10)
	}
}

// deadlock blocks the main thread for good in a system call, like a frame
// loop stuck on a lock: no frames, no console, no signals handled, no
// queries read.
func deadlock() {
	var p [2]int
	if err := unix.Pipe(p[:]); err != nil {
		select {} // cannot happen; block anyway
	}
	var b [1]byte
	for {
		_, _ = unix.Read(p[0], b[:])
	}
}

// spin is a frame loop caught in a busy loop: the main thread runs at
// 100 % CPU and never sleeps, prints, reads or answers again, as operators
// report hung srcds processes (LinuxGSM#624: "When the server's console
// hangs up, %CPU is at 100%"; ValveSoftware/halflife#1200). SIGURG is
// blocked on this thread first: Go's runtime would otherwise preempt the
// loop with it, parking the locked thread (a voluntary context switch,
// which a C engine's busy loop never makes).
func spin() {
	var set unix.Sigset_t
	set.Val[(unix.SIGURG-1)/64] |= 1 << ((uint(unix.SIGURG) - 1) % 64)
	_ = unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil)
	for { //lint:ignore SA5002 spinning at 100 % CPU is the point
	}
}
