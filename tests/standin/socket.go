package main

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// recvQueued takes the next datagram queued on c without waiting, as the
// engine's NET_GetPacket does (engine/net_ws.cpp, nillerusr/source-engine:
// NULL when nothing is queued, which ends NET_ProcessSocket's loop). from
// is nil when nothing is queued. It reads only when called: no goroutine of the
// stand-in reads the socket behind the frame loop's back.
func recvQueued(c net.PacketConn, buf []byte) (n int, from net.Addr, err error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, nil, errors.New("socket without a descriptor")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, nil, err
	}
	for {
		var sa unix.Sockaddr
		var rerr error
		if err := raw.Read(func(fd uintptr) bool {
			n, sa, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			return true // never wait in the runtime's poller
		}); err != nil {
			return 0, nil, err
		}
		switch {
		case errors.Is(rerr, unix.EAGAIN), errors.Is(rerr, unix.EWOULDBLOCK):
			return 0, nil, nil
		case errors.Is(rerr, unix.EINTR), errors.Is(rerr, unix.ECONNREFUSED):
			continue // a signal, or an ICMP error for an earlier answer
		case rerr != nil:
			return 0, nil, rerr
		}
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			return n, &net.UDPAddr{IP: net.IP(append([]byte(nil), a.Addr[:]...)), Port: a.Port}, nil
		case *unix.SockaddrInet6:
			return n, &net.UDPAddr{IP: net.IP(append([]byte(nil), a.Addr[:]...)), Port: a.Port}, nil
		}
		// An address of another family: not a query; take the next one.
	}
}
