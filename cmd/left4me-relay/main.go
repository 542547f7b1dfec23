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
// start, after START_TIMEOUT); then WATCHDOG=1 while it keeps answering,
// unless HANG_TIMEOUT is 0. Without the variable it reports ready at once.
// Usage: left4me-relay PROGRAM [ARG...]
package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/probe"
	"github.com/left4me/left4me/prestart/relay"
)

const prog = "left4me-relay"

func main() {
	if len(os.Args) < 2 {
		prestart.PrintError(os.Stderr, prog, errors.New("usage: left4me-relay PROGRAM [ARG...]"))
		os.Exit(2)
	}
	var pc probeConfig
	if v := os.Getenv("LEFT4ME_PROBE"); v != "" {
		var err error
		if pc, err = parseProbe(v); err != nil {
			prestart.PrintError(os.Stderr, prog, err)
			os.Exit(2)
		}
	}
	var ready atomic.Bool
	if pc.addr == "" {
		_ = notify("READY=1")
		ready.Store(true)
	} else {
		go watch(pc, &ready)
	}
	// l4d2@.service names the socket (in its RuntimeDirectory=).
	o := relay.Options{Socket: os.Getenv("LEFT4ME_CONSOLE"), Allowed: relay.InAdminGroup("/etc")}
	code, err := relay.Run(os.Args[1:], os.Stdout, o)
	if err != nil {
		prestart.PrintError(os.Stderr, prog, err)
	}
	if !ready.Load() {
		prestart.PrintError(os.Stderr, prog, fmt.Errorf("the server exited before it answered A2S_INFO on %s", pc.addr))
	}
	os.Exit(code)
}

// watch reports the server ready at its first answer, then feeds the
// watchdog. A server that never answers fails the start: the relay exits
// and systemd stops what is left of the unit.
func watch(pc probeConfig, ready *atomic.Bool) {
	ctx := context.Background()
	info, err := probe.Ready(ctx, pc.addr, pc.start, func() bool { return true }, func() {}, logf)
	if err != nil {
		prestart.PrintError(os.Stderr, prog, err)
		os.Exit(1)
	}
	ready.Store(true)
	if err := notify(fmt.Sprintf("READY=1\nSTATUS=answering A2S_INFO: %d/%d players, map %s", info.Players, info.MaxPlayers, info.Map)); err != nil {
		prestart.PrintError(os.Stderr, prog, fmt.Errorf("tell systemd the server is ready: %w", err))
	}
	if pc.hang <= 0 {
		return
	}
	if err := probe.Watch(ctx, pc.addr, probe.Interval(pc.hang), pc.hang, notify, logf); err != nil {
		prestart.PrintError(os.Stderr, prog, fmt.Errorf("A2S watch: %w", err))
	}
}

type probeConfig struct {
	addr        string
	start, hang time.Duration
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

func notify(state string) error {
	ok, err := daemon.SdNotify(false, state)
	if err == nil && !ok {
		err = errors.New("NOTIFY_SOCKET is not set")
	}
	return err
}
