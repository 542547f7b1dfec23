package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/left4me/left4me/cmd/internal/diag"
)

// relayWatchdog is how often the relay of a server with hang_timeout: 0
// feeds systemd's watchdog (layout.RelayWatchdog): a third of what
// systemd gave it (WATCHDOG_USEC, for this process: WATCHDOG_PID, as
// sd_watchdog_enabled(3) reads them); 0 when it gave none.
func relayWatchdog(getenv func(string) string, pid int) time.Duration {
	usec, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0
	}
	if p := getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(pid) {
		// systemd arms it for the main process, which the relay is: the
		// unit would be killed at its first timeout, so say why.
		diag.PrintError(os.Stderr, prog, fmt.Errorf("systemd's watchdog is for PID %s, not this relay (%d): it is not fed, and the server is killed when it runs out", p, pid))
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 3
}

// feedWhileRunning feeds the watchdog every interval for as long as the
// relay runs and its socket count goes on (counted, nil when there is no
// count): it tells that the relay, not the server, is alive. A server
// that stops its relay stops this too, and systemd kills the unit; one
// that lets it run for a moment now and then (SIGSTOP, SIGCONT) gets no
// feed unless a whole count ran meanwhile, which then finds its sockets.
func feedWhileRunning(interval time.Duration, counted func() uint64, notify func(string) error) {
	if interval <= 0 {
		return
	}
	f := feeder{counted: counted, notify: notify}
	f.feed()
	for {
		time.Sleep(interval)
		f.tick()
	}
}

// feeder feeds the watchdog at each tick on which counted moved on.
type feeder struct {
	counted func() uint64
	notify  func(string) error
	seen    uint64
}

func (f *feeder) feed() {
	if f.counted != nil {
		f.seen = f.counted()
	}
	_ = f.notify("WATCHDOG=1")
}

func (f *feeder) tick() {
	if f.counted != nil && f.counted() == f.seen {
		return // no count since the last feed
	}
	f.feed()
}
