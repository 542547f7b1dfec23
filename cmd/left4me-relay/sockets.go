package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/internal/diag"
	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/spec/layout"
)

// overSockets counts every interval until the server's user holds more
// than max sockets (count's udp and tcp together), and returns that
// count. A count that fails (a /proc without net/) is tried again.
func overSockets(count func() (udp, tcp int, err error), max int, every time.Duration) (udp, tcp int) {
	for {
		time.Sleep(every)
		if udp, tcp, err := count(); err == nil && udp+tcp > max {
			return udp, tcp
		}
	}
}

// socketsError is what the journal says of the kill, and what the alert
// looks for (priority err, which the server's own lines never have).
func socketsError(udp, tcp int) error {
	return fmt.Errorf("the server holds %d of the host's UDP and TCP sockets (UDP %d, TCP %d), more than the %d a server may: a plugin leaks them or takes the ports its neighbours need (DNS, Steam); killed, so that systemd starts it again",
		udp+tcp, udp, tcp, layout.MaxSockets)
}

// guardSockets kills the server, and exits, once its user holds more
// than layout.MaxSockets sockets. Its user is its own (DynamicUser=), so
// the sockets' uid (sock_diag's, or /proc/net's uid column) finds every
// socket of it, in the engine or in a process it started, whichever holds
// the descriptor now, or none (in flight in a unix socket's queue).
func guardSockets(pid int) {
	uid := os.Getuid()
	count := func() (int, int, error) {
		// The host's own count first: a few microseconds, where the
		// user's walks the kernel's TCP tables (BenchmarkSockets).
		if n, err := probe.HostSockets("/proc"); err == nil && n <= layout.MaxSockets {
			return 0, 0, nil
		}
		// The kernel's dump, a few milliseconds where /proc/net's text
		// takes a quarter of a second once the ports are taken.
		if udp, tcp, err := probe.SocketsDiag(uid); err == nil {
			return udp, tcp, nil
		}
		return probe.Sockets("/proc", uid)
	}
	udp, tcp := overSockets(count, layout.MaxSockets, layout.SocketsEvery*time.Second)
	diag.PrintError(os.Stderr, prog, socketsError(udp, tcp))
	killServer(pid, uid)
	os.Exit(layout.SocketKillStatus)
}

// killServer kills the engine's process group (the relay made it a
// session's leader) and, under systemd, every process of the server's
// user: a process that left the group holds sockets too. kill(-1) reaches
// every process the caller may signal, its own user's, so only a dynamic
// user, which is this unit's alone, makes it (the range of systemd's
// DynamicUser=, DYNAMIC_UID_MIN..MAX, src/basic/user-util.h); run by hand
// as root or a person's user it would reach far more.
func killServer(pid, uid int) {
	err := unix.Kill(-pid, unix.SIGKILL)
	if os.Getenv("INVOCATION_ID") != "" && uid >= 61184 && uid <= 65519 && uid == os.Geteuid() {
		err = errors.Join(err, unix.Kill(-1, unix.SIGKILL))
	}
	if err != nil && !errors.Is(err, unix.ESRCH) {
		diag.PrintError(os.Stderr, prog, fmt.Errorf("kill the server: %w", err))
	}
}
