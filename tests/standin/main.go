// Command standin impersonates srcds_run, the Left 4 Dead 2 dedicated
// server, for the end-to-end tests: it reports what it was started with,
// reads the cfg chain like srcds, answers A2S_INFO and quits on a signal.
//
// Environment switches for fault tests:
//
//	STANDIN_CRASH_AFTER=DURATION  exit 1 after DURATION
//	STANDIN_START_DELAY=DURATION  wait DURATION before binding the port
//	STANDIN_HANG_AFTER=DURATION   stop answering after DURATION, stay alive
//	STANDIN_PLAYERS=N             report N players in A2S_INFO
//
// The same switches may be given as KEY=VALUE lines in GAME/cfg/standin.env
// (read at start; it wins over the environment), so that tests can flip
// them in an instance's layers without touching its unit. The file
// GAME/cfg/standin_crash makes it exit 1 at once.
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/left4me/left4me/prestart/a2s"
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Getenv))
}

// run is the whole program; it returns the exit status. Every message is
// written to out as one line in one write, so journald keeps lines whole.
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
	cwd, err := os.Getwd()
	if err != nil {
		logf("getwd: %v", err)
	}
	logf("uid=%d gid=%d cwd=%s", os.Getuid(), os.Getgid(), cwd)

	a, err := parseArgs(argv[1:])
	if err != nil {
		logf("%v", err)
		return 2
	}
	getenv = withEnvFile(filepath.Join(a.game, "cfg", "standin.env"), getenv)
	hangAfter, err := envDuration(getenv, "STANDIN_HANG_AFTER")
	if err != nil {
		logf("%v", err)
		return 2
	}
	players, err := envPlayers(getenv)
	if err != nil {
		logf("%v", err)
		return 2
	}
	crashAfter, err := envDuration(getenv, "STANDIN_CRASH_AFTER")
	if err != nil {
		logf("%v", err)
		return 2
	}
	startDelay, err := envDuration(getenv, "STANDIN_START_DELAY")
	if err != nil {
		logf("%v", err)
		return 2
	}
	if _, err := os.Stat(filepath.Join(a.game, "cfg", "standin_crash")); err == nil {
		logf("crash requested")
		return 1
	}

	hostname := "standin"
	if a.hostname != "" {
		hostname = a.hostname // srcds runs +commands before server.cfg
	}
	hostname, chain := readCfgChain("", a.game, hostname, out)
	reportPath := filepath.Join(a.game, "standin-report.json")
	rep := report{
		Argv: argv, UID: os.Getuid(), GID: os.Getgid(), Cwd: cwd,
		Hostname: hostname, Map: a.mapName, Port: a.port, CfgChain: chain, PID: os.Getpid(),
	}
	if err := writeReport(reportPath, rep); err != nil {
		logf("%v", err) // the tests may still want the server running
	} else {
		logf("report %s", reportPath)
	}

	var crash <-chan time.Time
	if crashAfter > 0 {
		crash = time.After(crashAfter)
	}
	if startDelay > 0 {
		logf("waiting %v before binding (STANDIN_START_DELAY)", startDelay)
	}
	bind := time.After(startDelay)
	var served chan error // nil, so never ready, until the port is bound
	var hang <-chan time.Time
	var silent atomic.Bool
	for {
		select {
		case sig := <-sigs:
			logf("quitting on %s", signalName(sig))
			return 0
		case <-crash:
			logf("crashing after %v (STANDIN_CRASH_AFTER)", crashAfter)
			return 1
		case err := <-served:
			logf("%v", err)
			return 1
		case <-hang:
			// Alive but silent, like a wedged srcds: the socket stays open
			// and nothing answers.
			silent.Store(true) // before the line tests wait for
			logf("hanging now: no more A2S_INFO answers")
			hang = nil
		case <-bind:
			bind = nil
			conn, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", a.port))
			if err != nil {
				logf("listen: %v", err)
				return 1
			}
			defer conn.Close()
			logf("listening on udp %s", conn.LocalAddr())
			info := a2s.Info{
				Protocol: 17, Name: hostname, Map: a.mapName, Folder: a.game,
				Game: "Left 4 Dead 2", AppID: 550, Players: players, MaxPlayers: 8,
				ServerType: 'd', Environment: 'l', Version: "2.2.4.3", Port: a.port,
			}
			var challenge [4]byte
			rand.Read(challenge[:]) // never fails since Go 1.24
			served = make(chan error, 1)
			go func() { served <- serveA2S(conn, info, challenge, &silent) }()
			if hangAfter > 0 {
				logf("hanging after %v (STANDIN_HANG_AFTER)", hangAfter)
				hang = time.After(hangAfter)
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
