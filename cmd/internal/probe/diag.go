package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// SocketsDiag counts uid's UDP and TCP sockets (IPv4 and IPv6) on local
// ports in r as Sockets does, through the kernel's sock_diag netlink interface
// (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY; sock_diag(7)) instead of
// /proc/net's text tables: the kernel formats /proc/net/udp a line at a
// time, 250 ms for 19000 sockets here (docs/PERFORMANCE.md), so a host
// whose ports a server took would cost every server's relay that much a
// count, where the dump's binary records cost 11 ms. It also
// sees TCP sockets that are bound but neither listen nor connect, which
// no /proc/net table shows (Linux 6.6+: TCP_BOUND_INACTIVE, which an
// older kernel's dump leaves out).
func SocketsDiag(uid int, r PortRange) (udp, tcp int, err error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, 0, fmt.Errorf("sock_diag: %w", err)
	}
	defer unix.Close(fd)
	// A dump that never ends must not stop the count for good.
	tv := unix.NsecToTimeval((2 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return 0, 0, fmt.Errorf("sock_diag: %w", err)
	}
	for i, q := range []struct {
		family, proto uint8
		n             *int
	}{
		{unix.AF_INET, unix.IPPROTO_UDP, &udp}, {unix.AF_INET6, unix.IPPROTO_UDP, &udp},
		{unix.AF_INET, unix.IPPROTO_TCP, &tcp}, {unix.AF_INET6, unix.IPPROTO_TCP, &tcp},
	} {
		n, err := diagDump(fd, uint32(i+1), q.family, q.proto, uint32(uid), r)
		if err != nil {
			return 0, 0, fmt.Errorf("sock_diag (family %d, protocol %d): %w", q.family, q.proto, err)
		}
		*q.n += n
	}
	return udp, tcp, nil
}

// The layouts of include/uapi/linux/inet_diag.h: struct inet_diag_req_v2
// (family, protocol, ext, pad, states, then a 48-byte inet_diag_sockid)
// and struct inet_diag_msg (family, state, timer, retrans, the sockid,
// then expires, rqueue, wqueue, uid, inode); the sockid begins with the
// local port, big-endian.
const (
	diagMsgPort = 4
	diagReqLen  = 8 + 48
	diagMsgUID  = 4 + 48 + 12
	diagMsgLen  = diagMsgUID + 8
)

// diagDump asks for every socket of family and protocol, in every state,
// and counts those of uid on a local port in r.
func diagDump(fd int, seq uint32, family, proto uint8, uid uint32, r PortRange) (int, error) {
	req := make([]byte, unix.NLMSG_HDRLEN+diagReqLen)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	ne.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	ne.PutUint32(req[8:], seq)
	q := req[unix.NLMSG_HDRLEN:]
	q[0], q[1] = family, proto
	ne.PutUint32(q[4:], ^uint32(0)) // idiag_states: all of them
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	n := 0
	for {
		k, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return 0, err
		}
		for b := buf[:k]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(ne.Uint32(b[0:]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return 0, errors.New("a truncated netlink message")
			}
			typ, mseq, data := ne.Uint16(b[4:]), ne.Uint32(b[8:]), b[unix.NLMSG_HDRLEN:l]
			b = b[min((l+3)&^3, len(b)):]
			if mseq != seq {
				continue // an earlier dump's
			}
			switch typ {
			case unix.NLMSG_DONE:
				return n, nil
			case unix.NLMSG_ERROR:
				if len(data) >= 4 {
					if e := int32(ne.Uint32(data)); e != 0 {
						return 0, unix.Errno(-e)
					}
				}
				return 0, errors.New("netlink error")
			case unix.SOCK_DIAG_BY_FAMILY:
				if len(data) >= diagMsgLen && ne.Uint32(data[diagMsgUID:]) == uid && r.Has(binary.BigEndian.Uint16(data[diagMsgPort:])) {
					n++
				}
			}
		}
	}
}
