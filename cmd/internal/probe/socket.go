package probe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// HoldsUDPPort reports whether process pid holds a UDP socket bound to
// port (IPv4 or IPv6, any address), from proc ("/proc"): the sockets of
// the network namespace we share with it (net/udp, net/udp6) against the
// process's descriptors ("socket:[INODE]"). Reading another process's
// descriptors needs its user.
func HoldsUDPPort(proc string, pid int, port uint16) (bool, error) {
	inodes := map[string]int{}
	for _, f := range []string{"net/udp", "net/udp6"} {
		if err := tableOwners(filepath.Join(proc, f), port, "", inodes); err != nil {
			return false, err
		}
	}
	if len(inodes) == 0 {
		return false, nil
	}
	fdDir := filepath.Join(proc, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := bytes.CutPrefix([]byte(link), []byte("socket:[")); ok && hasKey(inodes, string(bytes.TrimSuffix(ino, []byte("]")))) {
			return true, nil
		}
	}
	return false, nil
}

// tcpListenState is a listening socket's st in /proc/net/tcp (TCP_LISTEN,
// include/net/tcp_states.h).
const tcpListenState = "0A"

func hasKey(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

// UDPPortOwners reports, for port, whether process pid holds a UDP socket
// on it (mine) and the uids of the other sockets of the network namespace
// on it, each once (others): with SO_REUSEADDR two processes may share a
// port, and the other one may be the one that answers. A uid is all
// /proc tells of another user's process. An error means /proc cannot tell
// (no net/udp, as with ProcSubset=pid, or pid's descriptors unreadable).
// A process that is gone (an engine that quit for -strictportbind just
// now) holds nothing: the sockets on the port are others'.
func UDPPortOwners(proc string, pid int, port uint16) (mine bool, others []int, err error) {
	return portOwners(proc, pid, port, "net/udp", "")
}

// TCPListenOwners is UDPPortOwners for the TCP sockets listening on port
// (the engine's RCON listener on its game port): an accepted connection
// has the same local port and is not counted.
func TCPListenOwners(proc string, pid int, port uint16) (mine bool, others []int, err error) {
	return portOwners(proc, pid, port, "net/tcp", tcpListenState)
}

// portOwners reads table (and table6) for port's sockets in state.
func portOwners(proc string, pid int, port uint16, table, state string) (mine bool, others []int, err error) {
	inodes := map[string]int{}
	if _, err := os.Stat(filepath.Join(proc, table)); err != nil {
		return false, nil, err
	}
	for _, f := range []string{table, table + "6"} {
		if err := tableOwners(filepath.Join(proc, f), port, state, inodes); err != nil {
			return false, nil, err
		}
	}
	fdDir := filepath.Join(proc, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fdDir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		ents, err = nil, nil // gone, or a zombie whose table is gone
	}
	if err != nil {
		return false, nil, err
	}
	held := map[string]bool{}
	for _, e := range ents {
		link, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if ino, ok := bytes.CutPrefix([]byte(link), []byte("socket:[")); ok {
			held[string(bytes.TrimSuffix(ino, []byte("]")))] = true
		}
	}
	for ino, uid := range inodes {
		if held[ino] {
			mine = true
		} else if !slices.Contains(others, uid) {
			others = append(others, uid)
		}
	}
	slices.Sort(others)
	return mine, others, nil
}

// tableOwners adds the inodes, with their uids, of the sockets in a
// /proc/net table whose local port is port and, unless state is "",
// whose st is state. A missing table (no IPv6) has none.
func tableOwners(path string, port uint16, state string, into map[string]int) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan() // the header
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) < 10 || !bytes.HasSuffix(f[1], []byte(want)) || state != "" && string(f[3]) != state {
			continue
		}
		uid, err := strconv.Atoi(string(f[7]))
		if err != nil {
			uid = -1 // still a socket on the port: "unknown"
		}
		into[string(f[9])] = uid
	}
	return sc.Err()
}

// Owners says who the uids are, as far as a number can: systemd's
// dynamic users (another left4me server is l4d2-NAME) apart, with the
// command that names them.
func Owners(uids []int) string {
	var dyn, other []string
	for _, u := range uids {
		switch {
		case u < 0:
			other = append(other, "unknown")
		case DynamicUID(u):
			dyn = append(dyn, strconv.Itoa(u))
		default:
			other = append(other, strconv.Itoa(u))
		}
	}
	var parts []string
	if len(other) > 0 {
		parts = append(parts, "uid "+strings.Join(other, ", "))
	}
	if len(dyn) > 0 {
		parts = append(parts, "systemd's dynamic uid "+strings.Join(dyn, ", ")+" (another left4me server is l4d2-NAME)")
	}
	var all []string
	for _, u := range uids {
		if u >= 0 {
			all = append(all, strconv.Itoa(u))
		}
	}
	if len(all) == 0 {
		return strings.Join(parts, " and ")
	}
	them := "it"
	if len(uids) > 1 {
		them = "them"
	}
	return strings.Join(parts, " and ") + "; `getent passwd " + strings.Join(all, " ") + "` names " + them
}

// PortRange is a range of local ports, both ends included, but for the
// ports of Not.
type PortRange struct {
	Lo, Hi uint16
	Not    []uint16
}

// AllPorts is every port.
func AllPorts() PortRange { return PortRange{Lo: 0, Hi: 65535} }

// Has tells whether port is in the range.
func (r PortRange) Has(port uint16) bool {
	return r.Lo <= port && port <= r.Hi && !slices.Contains(r.Not, port)
}

// DynamicUID tells whether uid is one systemd's DynamicUser= allocates
// (DYNAMIC_UID_MIN..DYNAMIC_UID_MAX, src/basic/user-util.h): a unit's
// alone while it runs.
func DynamicUID(uid int) bool { return uid >= 61184 && uid <= 65519 }

// EphemeralPorts is the range the kernel picks ports from for a socket
// that binds none or connects unbound (net.ipv4.ip_local_port_range, also
// IPv6's): the pool every process of the host shares.
func EphemeralPorts(proc string) (PortRange, error) {
	b, err := os.ReadFile(filepath.Join(proc, "sys/net/ipv4/ip_local_port_range"))
	if err != nil {
		return PortRange{}, err
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return PortRange{}, fmt.Errorf("ip_local_port_range: %q", b)
	}
	lo, err1 := strconv.ParseUint(f[0], 10, 16)
	hi, err2 := strconv.ParseUint(f[1], 10, 16)
	if err1 != nil || err2 != nil || lo > hi {
		return PortRange{}, fmt.Errorf("ip_local_port_range: %q", b)
	}
	return PortRange{Lo: uint16(lo), Hi: uint16(hi)}, nil
}

// Sockets counts the UDP and TCP sockets (IPv4 and IPv6) of the network
// namespace that belong to uid and have a local port in r, from proc's
// net/udp, udp6, tcp and tcp6: the ports of r a user holds. A socket's
// uid is its creator's, fixed for its life (sk_uid), wherever its
// descriptor went since. A TCP connection in TIME_WAIT is the kernel's
// (uid 0) and holds no descriptor; a TCP socket that is bound but neither
// listens nor connects is in no table.
func Sockets(proc string, uid int, r PortRange) (udp, tcp int, err error) {
	want := []byte(strconv.Itoa(uid))
	for _, t := range []struct {
		file string
		n    *int
	}{{"net/udp", &udp}, {"net/udp6", &udp}, {"net/tcp", &tcp}, {"net/tcp6", &tcp}} {
		n, err := uidLines(filepath.Join(proc, t.file), want, r)
		if err != nil {
			return 0, 0, err
		}
		*t.n += n
	}
	return udp, tcp, nil
}

// uidLines counts the lines of a /proc/net table whose uid column (the
// eighth: "sl local_address rem_address st tx:rx tr:tm retrnsmt uid")
// is uid and whose local port is in r. A missing table (no IPv6) has
// none.
func uidLines(path string, uid []byte, r PortRange) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) <= 7 || !bytes.Equal(f[7], uid) {
			continue
		}
		_, hex, _ := bytes.Cut(f[1], []byte(":"))
		if p, err := strconv.ParseUint(string(hex), 16, 16); err == nil && r.Has(uint16(p)) {
			n++
		}
	}
	return n, sc.Err()
}

// HostSockets is at least the count Sockets finds for any one user, read
// from proc's net/sockstat and sockstat6 for a few microseconds where
// Sockets walks every bucket of the kernel's TCP tables (about 0.85 ms
// per table on a host with 24 GiB): the UDP sockets in use of the network
// namespace (IPv4 and IPv6; "inuse": hashed, so bound) and every TCP
// socket allocated ("alloc": the host's, IPv6 included; net/ipv4/proc.c
// sockstat_seq_show, net/ipv6/proc.c sockstat6_seq_show).
func HostSockets(proc string) (int, error) {
	v4, err := sockstat(filepath.Join(proc, "net/sockstat"))
	if err != nil {
		return 0, err
	}
	tcp, ok1 := v4["TCP: alloc"]
	udp, ok2 := v4["UDP: inuse"]
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("%s: no TCP alloc or UDP inuse", filepath.Join(proc, "net/sockstat"))
	}
	v6, err := sockstat(filepath.Join(proc, "net/sockstat6"))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil // no IPv6
	}
	return tcp + udp + v6["UDP6: inuse"], err
}

// sockstat reads a sockstat file's values ("UDP: inuse 3 mem 1") as
// "UDP: inuse" → 3.
func sockstat(path string) (map[string]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v := map[string]int{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		f := bytes.Fields(line)
		for i := 1; i+1 < len(f); i += 2 {
			if n, err := strconv.Atoi(string(f[i+1])); err == nil {
				v[string(f[0])+" "+string(f[i])] = n
			}
		}
	}
	return v, nil
}
