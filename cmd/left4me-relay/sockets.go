package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/internal/diag"
	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/spec/layout"
)

// overSockets counts at random intervals around every (half to one and a
// half of it: a plugin that knew when the count comes could let go of
// the ports just before) until the server's user holds more than max
// sockets (count's udp and tcp together), and returns that count. A
// count that fails is tried again, said once; one the server made
// impossible (blinded) ends the count with that error.
func overSockets(count func() (udp, tcp int, err error), max int, every time.Duration, failed func(error)) (udp, tcp int, err error) {
	said := false
	for {
		time.Sleep(every/2 + rand.N(every+1))
		udp, tcp, err := count()
		var b blinded
		switch {
		case errors.As(err, &b):
			return 0, 0, err
		case err != nil && !said:
			said = true
			failed(err)
		case err == nil && udp+tcp > max:
			return udp, tcp, nil
		}
	}
}

// blinded is the relay's open-file limit lowered since the count began.
// Only root and the relay's own user, the server's, may lower it
// (prlimit(2) asks for the same uid, not for ptrace access, and Landlock
// has no say in it); every count then fails (EMFILE: it opens /proc
// files and a netlink socket) while the watchdog is still fed, and the
// server would hold the host's ports unbounded.
type blinded struct{ was, now unix.Rlimit }

func (b blinded) Error() string {
	return fmt.Sprintf("the server blinds the socket count: its user lowered the relay's open-file limit (prlimit) to %d (hard %d) from %d (hard %d); killed, so that systemd starts it again",
		b.now.Cur, b.now.Max, b.was.Cur, b.was.Max)
}

// limitKept is a blinded error if the open-file limit (now) fell below
// was; nil if it did not or cannot be read.
func limitKept(was unix.Rlimit, now func() (unix.Rlimit, error)) error {
	n, err := now()
	if err != nil || (n.Cur >= was.Cur && n.Max >= was.Max) {
		return nil
	}
	return blinded{was, n}
}

// openLimit is this process's open-file limit.
func openLimit() (unix.Rlimit, error) {
	var r unix.Rlimit
	err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r)
	return r, err
}

// socketsSaid begins the journal's line of the kill: what the alert looks
// for, anchored, in the relay's lines at priority err (the server's own
// lines are stored at info, and no line of the relay's that quotes the
// server begins so).
const socketsSaid = "the server holds "

// socketsError is what the journal says of the kill.
func socketsError(udp, tcp int, r probe.PortRange) error {
	return fmt.Errorf(socketsSaid+"%d of the host's ephemeral ports %d-%d (UDP %d, TCP %d), more than the %d a server may: a plugin leaks sockets or takes the ports its neighbours need (DNS, Steam); killed, so that systemd starts it again",
		udp+tcp, r.Lo, r.Hi, udp, tcp, layout.MaxSockets)
}

// guardSockets kills the server once its user holds more than
// layout.MaxSockets of the host's ephemeral ports, and sets killed: the
// relay then exits layout.SocketKillStatus (or at once, should the
// server's end not come). Its user is its own (DynamicUser=), so the
// sockets' uid (sock_diag's, or /proc/net's uid column) finds every
// socket of it, in the engine or in a process it started, whichever
// holds the descriptor now. Only the ephemeral range counts: the pool
// every process shares. The instance's own ports are left out, wherever
// they are (a spec may give one in the range, a host may widen it): the
// connections accepted on the game port (RCON's, which anyone may open)
// would count otherwise. counted goes up at each count. limit is the
// relay's open-file limit before the server started: one lowered since
// is the server's doing and kills it too (blinded).
func guardSockets(pid int, limit unix.Rlimit, own []uint16, killed *atomic.Bool, counted *atomic.Uint64) {
	uid := os.Getuid()
	var r probe.PortRange
	count := func() (int, int, error) {
		defer counted.Add(1) // each count that ran, for the watchdog's feed
		if err := limitKept(limit, openLimit); err != nil {
			return 0, 0, err
		}
		// The host's own count first: a few microseconds, where the
		// user's asks the kernel for every socket (BenchmarkSockets*).
		if n, err := probe.HostSockets("/proc"); err == nil && n <= layout.MaxSockets {
			return 0, 0, nil
		}
		var err error
		if r, err = probe.EphemeralPorts("/proc"); err != nil {
			return 0, 0, err
		}
		r.Not = own
		// The kernel's dump, a few milliseconds where /proc/net's text
		// takes a quarter of a second once the ports are taken.
		if udp, tcp, err := probe.SocketsDiag(uid, r); err == nil {
			return udp, tcp, nil
		}
		return probe.Sockets("/proc", uid, r)
	}
	udp, tcp, err := overSockets(count, layout.MaxSockets, layout.SocketsEvery*time.Second, func(err error) {
		diag.PrintError(os.Stderr, prog, fmt.Errorf("cannot count the server's sockets (tried again; unbounded meanwhile): %w", err))
	})
	killed.Store(true)
	if err == nil {
		err = socketsError(udp, tcp, r)
	}
	diag.PrintError(os.Stderr, prog, err)
	killServer(pid, uid)
	time.Sleep(10 * time.Second)
	os.Exit(layout.SocketKillStatus) // main did not: the pty stayed open
}

// ownPorts are the instance's ports: the game port (UDP, and TCP for
// RCON) and the client and SourceTV ports.
func ownPorts(game uint16, others []rolePort) []uint16 {
	own := []uint16{game}
	for _, o := range others {
		own = append(own, o.port)
	}
	return own
}

// exitCode is the relay's status for the server's code: the socket
// kill's once the guard killed it, and never that by the server's own
// doing (it would read as a socket kill).
func exitCode(code int, killed bool) int {
	switch {
	case killed:
		return layout.SocketKillStatus
	case code == layout.SocketKillStatus:
		return 1
	}
	return code
}

// killServer kills the engine's process group (the relay made it a
// session's leader) and, under systemd, every process of the server's
// user: a process that left the group holds sockets too. kill(-1) reaches
// every process the caller may signal, its own user's, so only a dynamic
// user, which is this unit's alone, makes it; run by hand as root or a
// person's user it would reach far more.
func killServer(pid, uid int) {
	err := unix.Kill(-pid, unix.SIGKILL)
	if os.Getenv("INVOCATION_ID") != "" && probe.DynamicUID(uid) && uid == os.Geteuid() {
		err = errors.Join(err, unix.Kill(-1, unix.SIGKILL))
	}
	if err != nil && !errors.Is(err, unix.ESRCH) {
		diag.PrintError(os.Stderr, prog, fmt.Errorf("kill the server: %w", err))
	}
}
