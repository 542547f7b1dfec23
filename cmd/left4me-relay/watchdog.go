package main

import (
	"strconv"
	"time"
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
		return 0
	}
	return time.Duration(usec) * time.Microsecond / 3
}

// feedWhileRunning feeds the watchdog every interval for as long as the
// relay runs: it tells that the relay, not the server, is alive. A
// server that stops its relay stops this too, and systemd kills the
// unit.
func feedWhileRunning(interval time.Duration, notify func(string) error) {
	if interval <= 0 {
		return
	}
	for {
		_ = notify("WATCHDOG=1")
		time.Sleep(interval)
	}
}
