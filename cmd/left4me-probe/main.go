// Command left4me-probe is l4d2@.service's ExecStartPost= helper: the start
// job completes only when the server answers A2S_INFO. Until then it feeds
// systemd's watchdog while the server lives; afterwards the relay (the
// unit's main process) does, while the server keeps answering.
//
//	left4me-probe ready ADDR:PORT START_TIMEOUT HANG_TIMEOUT
//	left4me-probe watch ADDR:PORT HANG_TIMEOUT     (by hand: what the relay does)
//
// ADDR is where the server listens (its -ip argument, or 127.0.0.1).
package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/probe"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		prestart.PrintError(os.Stderr, "left4me-probe", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) { fmt.Printf(format+"\n", args...) }

func run(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: left4me-probe ready ADDR:PORT START_TIMEOUT HANG_TIMEOUT | watch ADDR:PORT HANG_TIMEOUT")
	}
	ap, err := netip.ParseAddrPort(args[1])
	if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
		return fmt.Errorf("bad address %q: want IPv4:PORT", args[1])
	}
	addr := ap.String()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch {
	case args[0] == "ready" && len(args) == 4:
		timeout, err1 := time.ParseDuration(args[2])
		hang, err2 := time.ParseDuration(args[3])
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		keepalive := func() { _ = notify("WATCHDOG=1") }
		_ = hang // the relay watches (LEFT4ME_WATCH in the drop-in)
		_, err := probe.Ready(ctx, addr, timeout, mainAlive, keepalive, logf)
		return err
	case args[0] == "watch" && len(args) == 3:
		hang, err := time.ParseDuration(args[2])
		if err != nil {
			return err
		}
		return probe.Watch(ctx, addr, probe.Interval(hang), hang, notify, logf)
	}
	return fmt.Errorf("unknown command %q", args)
}

// mainAlive: systemd gives ExecStartPost= the server's PID as $MAINPID.
func mainAlive() bool {
	pid, err := strconv.Atoi(os.Getenv("MAINPID"))
	if err != nil || pid <= 0 {
		return true // not under systemd: rely on the timeout
	}
	return syscall.Kill(pid, 0) != syscall.ESRCH
}

func notify(state string) error {
	ok, err := daemon.SdNotify(false, state)
	if err == nil && !ok {
		err = errors.New("NOTIFY_SOCKET is not set (NotifyAccess=all missing?)")
	}
	return err
}
