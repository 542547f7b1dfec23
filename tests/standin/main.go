// Command standin impersonates srcds_linux, the Left 4 Dead 2 dedicated
// server engine, for the end-to-end tests; the script srcds_run next to
// this file starts it as Valve's script does. It behaves like the real
// engine where left4me depends on it, each such place citing what it
// follows: it needs bin/libtier0_srv.so through LD_LIBRARY_PATH, reads its
// command line like the engine, binds its UDP port like the engine (moving
// on from a busy port unless -strictportbind), answers A2S_INFO and
// A2S_PLAYER, writes into the game tree like SourceMod and writeid, and
// quits on a signal. It reports what it was started with and read.
//
// Like the engine, it reads and answers queries only in its frame loop on
// the main thread, once a frame (processSocket, serve.go): an answer waits
// up to a frame; while the main thread is busy or stuck (a map load, a
// hang, a spin) nothing is answered and queries queue in the socket's
// receive buffer, to be answered in a burst by the next frame, if any.
//
// Environment switches for fault tests:
//
//	STANDIN_CRASH_AFTER=DURATION  exit 1 after DURATION
//	STANDIN_START_DELAY=DURATION  wait DURATION before binding the port
//	STANDIN_HANG_AFTER=DURATION   stop answering after DURATION, stay alive
//	STANDIN_SPIN_AFTER=DURATION   like HANG_AFTER, its main thread spinning
//	                              at 100 % CPU (engine.go, spin)
//	STANDIN_PLAYERS=N             N human players (A2S_INFO and A2S_PLAYER;
//	                              the console's kickall drops them)
//	STANDIN_BOTS=N                N bots besides them
//	STANDIN_A2S_PLAYERS=humans    A2S_INFO's players counts humans alone,
//	                              its bots the fake clients, as the L4D
//	                              branch's GetMasterServerPlayerCounts may
//	                              (default: players counts bots too, as
//	                              Steam's servers do; serve.go, wire)
//	STANDIN_NET=source2013|csgo   how a busy port and -strictportbind are
//	                              treated (ports.go; default source2013)
//	STANDIN_MAX_QUERIES_PER_IP=R  answer one address at most R queries a
//	                              second on average (sv_max_queries_sec;
//	                              default 3, 0 no limit; ipratelimit.go)
//	STANDIN_MAX_QUERIES_WINDOW=S  over windows of S seconds
//	                              (sv_max_queries_window; default 30)
//	STANDIN_MAX_QUERIES_SEC=N     answer at most N queries a second from
//	                              all addresses together
//	                              (sv_max_queries_sec_global; 0 no limit)
//	STANDIN_MAPLOAD=DURATION      each map load (at start, and on the
//	                              console's map or changelevel) keeps the
//	                              main thread DURATION: no frame, no query
//	                              read, no console (engine.go)
//	STANDIN_HIBERNATE=1           hibernate while no human is on: say
//	                              "Server is hibernating", punt the bots,
//	                              answer no query
//	STANDIN_RESERVE=DURATION      a lobby reserves the server as it comes
//	                              up, and nobody comes: status says
//	                              "(reserved ID)" and it does not
//	                              hibernate, until DURATION has passed
//	                              with no human on (serve.go, reserve)
//	STANDIN_LAN=1                 steamclient.so fails to load: print the
//	                              loader's lines, run in LAN mode, answer
//	                              no query
//	STANDIN_SIGNALS=MODE          SIGINT and SIGTERM: none (they kill, the
//	                              default: Source 2013), delay (CS:GO's
//	                              "live server, delaying request" while
//	                              players are on) or clean (quit)
//	STANDIN_SHUTDOWN_AFTER=D      end by itself with status 0 after D, as
//	                              after sv_shutdown once the game ended
//	                              (CGameServer::SetHibernating, engine/
//	                              sv_main.cpp, cstrike15_src: "Server
//	                              shutting down because sv_shutdown was
//	                              done and a game has ended.", then
//	                              HostState_Shutdown)
//	STANDIN_TICK=DURATION         print a numbered "tick N" line this often
//	STANDIN_CRASH_DUMP_AFTER=D    crash after D, writing a dump as
//	                              breakpad does (crashdump.go)
//	STANDIN_A2S_MAP="QUOTED"      the map A2S_INFO reports, Go-quoted (a
//	                              hostile server's answer, attack tests)
//	STANDIN_STDIO=line            line-buffer stdout (the stand-in's own
//	                              unit tests only; environment only, read
//	                              before the env file; stdio.go)
//
// The same switches may be given as KEY=VALUE lines in GAME/cfg/standin.env
// (read at start; it wins over the environment), so that tests can flip
// them in an instance's layers without touching its unit. The file
// GAME/cfg/standin_crash makes it exit 1 at once; GAME/cfg/standin_attack
// makes it attack another server (test-only, attack.go).
package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

func main() {
	if pid := os.Getenv(dumperEnv); pid != "" {
		os.Exit(dumper(pid)) // the crash dumper's child, see crashWithDump
	}
	out := newStdio(os.Stdout, os.Getenv("STANDIN_STDIO"))
	code := run(os.Args, out, os.Getenv)
	out.Flush() // exit() flushes stdio; a kill -9 never gets here
	os.Exit(code)
}

// switches are the fault and load switches of the environment.
type switches struct {
	crashAfter, startDelay, hangAfter, spinAfter, shutdownAfter time.Duration
	// tick: print a numbered line this often, like the events a live
	// server logs as they happen (connects, map changes, plugin output).
	tick          time.Duration
	players, bots int
	a2sHumans     bool          // STANDIN_A2S_PLAYERS=humans
	reserve       time.Duration // STANDIN_RESERVE
}

func readSwitches(getenv func(string) string) (switches, error) {
	var s switches
	var err error
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"STANDIN_CRASH_AFTER", &s.crashAfter}, {"STANDIN_START_DELAY", &s.startDelay}, {"STANDIN_HANG_AFTER", &s.hangAfter}, {"STANDIN_SPIN_AFTER", &s.spinAfter}, {"STANDIN_TICK", &s.tick}, {"STANDIN_RESERVE", &s.reserve}, {"STANDIN_SHUTDOWN_AFTER", &s.shutdownAfter}} {
		if *d.to, err = envDuration(getenv, d.name); err != nil {
			return s, err
		}
	}
	if s.players, err = envCount(getenv, "STANDIN_PLAYERS"); err != nil {
		return s, err
	}
	if s.bots, err = envCount(getenv, "STANDIN_BOTS"); err != nil {
		return s, err
	}
	switch v := getenv("STANDIN_A2S_PLAYERS"); v {
	case "", "all":
	case "humans":
		s.a2sHumans = true
	default:
		return s, fmt.Errorf("STANDIN_A2S_PLAYERS: %q, want all or humans", v)
	}
	if s.players+s.bots > 255 {
		return s, fmt.Errorf("STANDIN_PLAYERS+STANDIN_BOTS: %d, more than A2S can count", s.players+s.bots)
	}
	return s, nil
}

// run is the whole program; it returns the exit status. Every message is
// written to out as one line in one write, so journald keeps lines whole.
// Lines the real engine prints are printed as it prints them; the
// stand-in's own start with "standin: ".
func run(argv []string, out io.Writer, getenv func(string) string) int {
	// Catch signals first: the service manager may stop us at any moment.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	logf := func(format string, a ...any) {
		fmt.Fprintf(out, "standin: "+format+"\n", a...)
	}
	argvJSON, _ := json.Marshal(argv) // a []string always encodes
	logf("argv: %s", argvJSON)

	// The launcher's dlopen of bin/dedicated_srv.so, before anything else.
	if _, err := findLibrary(tier0Lib, getenv("LD_LIBRARY_PATH")); err != nil {
		fmt.Fprintf(out, "Failed to open %s (%v)\n", launcherLib, err)
		return loaderExit
	}
	_ = os.Chdir(baseDir(argv[0])) // unchecked, as in the engine's main()
	cwd, err := os.Getwd()
	if err != nil {
		logf("getwd: %v", err)
	}
	logf("uid=%d gid=%d cwd=%s", os.Getuid(), os.Getgid(), cwd)

	a, err := parseEngineArgs(argv[1:])
	if err != nil {
		logf("%v", err)
		return 2
	}
	getenv = withEnvFile(filepath.Join(a.game, "cfg", "standin.env"), getenv)
	sw, err := readSwitches(getenv)
	if err != nil {
		logf("%v", err)
		return 2
	}
	mode, err := readEngineMode(getenv)
	if err != nil {
		logf("%v", err)
		return 2
	}
	if mode.signals == sigNone {
		signal.Reset(syscall.SIGINT, syscall.SIGTERM) // the default: death
	}
	g := &gate{max: mode.maxQueries}
	if mode.perIP > 0 {
		g.perIP = newIPLimit(mode.perIP, mode.window, time.Now())
	}
	if mode.lan {
		steamFailed(out)
		g.closed.Store(true)
	}
	// With -nomaster the CS:GO server sends no master heartbeats and
	// answers no A2S (engine/baseserver.cpp, as issue 24 reads it).
	if cmdline(argv[1:]).has("-nomaster") {
		g.closed.Store(true)
	}
	if _, err := os.Stat(filepath.Join(a.game, "cfg", "standin_crash")); err == nil {
		logf("crash requested")
		return 1
	}

	logf("%v", loadGameFiles(a.game, logf))

	hostname := "standin"
	if a.hostname != "" {
		hostname = a.hostname // srcds runs +commands before server.cfg
	}
	hostname, chain := readCfgChain("", a.game, hostname, out)
	w := newWrites(out)
	writeID(a.game, w)
	runSourceMod(a.game, time.Now(), w)
	reportPath := filepath.Join(a.game, "standin-report.json")
	rep := report{
		Argv: argv, UID: os.Getuid(), GID: os.Getgid(), Cwd: cwd,
		Hostname: hostname, Map: a.mapName, Port: a.port, CfgChain: chain, PID: os.Getpid(),
		Wrote: w.wrote, WriteErrors: w.errors,
	}
	saveReport := func() {
		if err := writeReport(reportPath, rep); err != nil {
			logf("%v", err) // the tests may still want the server running
		} else {
			logf("report %s", reportPath)
		}
	}
	saveReport()
	attack(a.game, out, logf) // test-only, see attack.go

	var crash, shutdown <-chan time.Time
	if sw.crashAfter > 0 {
		crash = time.After(sw.crashAfter)
	}
	if sw.shutdownAfter > 0 {
		shutdown = time.After(sw.shutdownAfter)
	}
	if sw.startDelay > 0 {
		logf("waiting %v before binding (STANDIN_START_DELAY)", sw.startDelay)
	}
	bind := time.After(sw.startDelay)
	var hang, spinning <-chan time.Time
	var srv *server
	console := consoleInput(os.Stdin)
	editor := &lineEditor{echo: out}
	frame := time.NewTicker(frameEvery)
	defer frame.Stop()
	var dump <-chan time.Time
	if mode.dumpCrash > 0 {
		dump = time.After(mode.dumpCrash)
	}
	var ticker <-chan time.Time
	if sw.tick > 0 {
		t := time.NewTicker(sw.tick)
		defer t.Stop()
		ticker = t.C
	}
	for {
		select {
		case <-frame.C:
			// A frame: the main thread wakes and runs the server, which
			// reads and answers the queries queued since the last one.
			if srv != nil {
				if err := srv.processSocket(); err != nil {
					logf("%v", err)
					return 1
				}
				if srv.unreserve(time.Now()) {
					logf("the lobby's reservation ended with nobody on (STANDIN_RESERVE)")
					if mode.hibernate && srv.humans() == 0 {
						srv.hibernate(out)
					}
				}
			}
		case <-dump:
			logf("crashing with a dump (STANDIN_CRASH_DUMP_AFTER)")
			return crashWithDump(a.game, logf)
		case <-ticker:
			// The report says so only once the line was handed to stdout.
			rep.Ticks++
			logf("tick %d", rep.Ticks)
			saveReport()
		case sig := <-sigs:
			if mode.signals == sigDelay && sig == syscall.SIGINT && sw.players > 0 {
				fmt.Fprintln(out, "SIGINT received, live server, delaying request.")
				continue
			}
			logf("quitting on %s", signalName(sig))
			return 0
		case c, ok := <-console:
			if !ok {
				console = nil
				continue
			}
			cmd, done := editor.typed(c)
			if !done {
				continue
			}
			if verb, _, _ := strings.Cut(cmd, " "); strings.EqualFold(verb, "map") || strings.EqualFold(verb, "changelevel") {
				loadMap(mode.mapLoad, logf)
				logf("loaded %s", cmd)
				continue
			}
			if quit := consoleCommand(out, cmd, srv, a); quit {
				return 0
			}
			if mode.hibernate && srv != nil && srv.humans() == 0 && !srv.reserved() {
				srv.hibernate(out) // the last human left (kickall)
			}
		case <-shutdown:
			fmt.Fprintln(out, "Server shutting down because sv_shutdown was done and a game has ended.")
			return 0
		case <-crash:
			logf("crashing after %v (STANDIN_CRASH_AFTER)", sw.crashAfter)
			return 1
		case <-hang:
			// A wedged srcds: its frame loop is stuck, so nothing answers,
			// nothing is printed or read and no signal is handled; the
			// socket stays open.
			// No frame runs again, so nothing reads the socket: queries
			// queue in its receive buffer until it overflows.
			logf("hanging now: no more A2S_INFO or A2S_PLAYER answers")
			if f, ok := out.(interface{ Flush() }); ok {
				f.Flush()
			}
			deadlock()
		case <-spinning:
			logf("spinning now: no more answers, output or reads; the main thread busy (STANDIN_SPIN_AFTER)")
			if f, ok := out.(interface{ Flush() }); ok {
				f.Flush()
			}
			spin()
		case <-bind:
			bind = nil
			socks, warnings, err := openPorts(argv[1:], a, getenv)
			if err != nil {
				var failure *bindFailure
				if !errors.As(err, &failure) {
					logf("listen: %v", err)
					return 1
				}
				for _, l := range failure.lines {
					fmt.Fprintln(out, l)
				}
				return failure.code
			}
			defer socks.Close()
			for _, l := range warnings {
				fmt.Fprintln(out, l)
			}
			conn, port := socks.server, socks.ports["server"]
			logf("listening on udp %s", conn.LocalAddr())
			if a.svLan {
				// sv_lan 1: Steam starts without authentication, "don't
				// list on the server list" (EServerMode, steam_gameserver.h),
				// saying so (CSteam3Server::Activate, engine/sv_steamauth.cpp,
				// Source 2013); connections from outside the LAN are refused.
				// Whether Steam's closed library still answers A2S then is
				// not published: the stand-in answers nothing, the harsher.
				fmt.Fprintln(out, "Initializing Steam libraries for LAN server")
				g.closed.Store(true)
			}
			rep.BoundPort, rep.Ports = port, socks.ports
			saveReport()
			srv = &server{
				info: a2s.Info{
					Protocol: 17, Name: hostname, Map: a.mapName, Folder: a.game,
					Game: "Left 4 Dead 2", AppID: 550, MaxPlayers: 8,
					// Players counts bots too ("total number of players
					// currently on the server. INCLUDES BOTS!!", Steamworks
					// matchmakingtypes.h, gameserveritem_t); Bots is the
					// "Number of bots on the server" (Valve developer wiki,
					// Server queries, A2S_INFO).
					Players: byte(sw.players + sw.bots), Bots: byte(sw.bots),
					ServerType: 'd', Environment: 'l', Version: "2.2.4.3", Port: port,
				},
				names:     roster(sw.players, sw.bots),
				a2sHumans: sw.a2sHumans,
				since:     time.Now(),
				gate:      g,
				conn:      conn,
			}
			if mode.a2sMap != "" {
				srv.info.Map = mode.a2sMap
			}
			rand.Read(srv.challenge[:]) // never fails since Go 1.24
			if sw.hangAfter > 0 {
				logf("hanging after %v (STANDIN_HANG_AFTER)", sw.hangAfter)
				hang = time.After(sw.hangAfter)
			}
			if sw.spinAfter > 0 {
				logf("spinning after %v (STANDIN_SPIN_AFTER)", sw.spinAfter)
				spinning = time.After(sw.spinAfter)
			}
			loadMap(mode.mapLoad, logf)
			// Active: Steam logs on, and says so unless in LAN mode
			// (CSteam3Server::OnLogonSuccess, engine/sv_steamauth.cpp,
			// Source 2013: "if ( !BLanOnly() )").
			if !mode.lan && !a.svLan {
				fmt.Fprintln(out, "Connection to Steam servers successful.")
			}
			if sw.reserve > 0 {
				srv.reserve(time.Now().Add(sw.reserve))
				logf("reserved by a lobby for %v (STANDIN_RESERVE)", sw.reserve)
			}
			if mode.hibernate && srv.humans() == 0 && !srv.reserved() {
				srv.hibernate(out)
			}
		}
	}
}

// envDuration reads an optional duration from the environment.
func envDuration(getenv func(string) string, name string) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}
