// Command left4me-relay is l4d2@.service's ExecStart: it runs the game
// server on a pseudo-terminal and copies its console to the journal line
// by line (see package relay). With LEFT4ME_WATCH="ADDR:PORT HANG_TIMEOUT"
// (the drop-in of a spec with a hang_timeout) it also feeds systemd's
// watchdog while the server answers A2S_INFO there (package probe): one
// process beside each server instead of two.
// Usage: left4me-relay PROGRAM [ARG...]
package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
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
	if w := os.Getenv("LEFT4ME_WATCH"); w != "" {
		addr, hang, err := parseWatch(w)
		if err != nil {
			prestart.PrintError(os.Stderr, prog, err)
			os.Exit(2)
		}
		// Ends with the process, when the server has exited.
		go func() {
			err := probe.WatchAfterStart(context.Background(), addr, hang, notify, logf)
			if err != nil {
				prestart.PrintError(os.Stderr, prog, fmt.Errorf("A2S watch: %w", err))
			}
		}()
	}
	// l4d2@.service names the socket (in its RuntimeDirectory=).
	o := relay.Options{Socket: os.Getenv("LEFT4ME_CONSOLE"), Allowed: relay.InAdminGroup("/etc")}
	code, err := relay.Run(os.Args[1:], os.Stdout, o)
	if err != nil {
		prestart.PrintError(os.Stderr, prog, err)
	}
	os.Exit(code)
}

// parseWatch reads "IPv4:PORT DURATION".
func parseWatch(s string) (string, time.Duration, error) {
	a, h, ok := strings.Cut(s, " ")
	ap, err := netip.ParseAddrPort(a)
	if !ok || err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
		return "", 0, fmt.Errorf("LEFT4ME_WATCH=%q: want \"IPv4:PORT HANG_TIMEOUT\"", s)
	}
	hang, err := time.ParseDuration(h)
	if err != nil || hang <= 0 {
		return "", 0, fmt.Errorf("LEFT4ME_WATCH=%q: bad hang timeout", s)
	}
	return ap.String(), hang, nil
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
