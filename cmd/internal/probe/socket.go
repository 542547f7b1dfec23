package probe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// HoldsUDPPort reports whether process pid holds a UDP socket bound to
// port (IPv4 or IPv6, any address), from proc ("/proc"): the sockets of
// the network namespace we share with it (net/udp, net/udp6) against the
// process's descriptors ("socket:[INODE]"). Reading another process's
// descriptors needs its user.
func HoldsUDPPort(proc string, pid int, port uint16) (bool, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"net/udp", "net/udp6"} {
		if err := udpInodes(filepath.Join(proc, f), port, inodes); err != nil {
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
		if ino, ok := bytes.CutPrefix([]byte(link), []byte("socket:[")); ok && inodes[string(bytes.TrimSuffix(ino, []byte("]")))] {
			return true, nil
		}
	}
	return false, nil
}

// udpInodes adds the inodes of the sockets in a /proc/net/udp-style table
// whose local port is port ("sl local_address rem_address st ... inode").
func udpInodes(path string, port uint16, into map[string]bool) error {
	return tableInodes(path, port, "", into)
}

// tcpListenState is a listening socket's st in /proc/net/tcp (TCP_LISTEN,
// include/net/tcp_states.h).
const tcpListenState = "0A"

// tableInodes adds the inodes of the sockets in a /proc/net table whose
// local port is port and, unless state is "", whose st is state.
func tableInodes(path string, port uint16, state string, into map[string]bool) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil // no IPv6
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
		into[string(f[9])] = true
	}
	return sc.Err()
}

// UDPPortOwners reports, for port, whether process pid holds a UDP socket
// on it (mine) and whether any other socket of the network namespace does
// (others): with SO_REUSEADDR two processes may share a port, and the
// other one may be the one that answers. An error means /proc cannot tell
// (no net/udp, as with ProcSubset=pid, or pid's descriptors unreadable).
// A process that is gone (an engine that quit for -strictportbind just
// now) holds nothing: the sockets on the port are others'.
func UDPPortOwners(proc string, pid int, port uint16) (mine, others bool, err error) {
	return portOwners(proc, pid, port, "net/udp", "")
}

// TCPListenOwners is UDPPortOwners for the TCP sockets listening on port
// (the engine's RCON listener on its game port): an accepted connection
// has the same local port and is not counted.
func TCPListenOwners(proc string, pid int, port uint16) (mine, others bool, err error) {
	return portOwners(proc, pid, port, "net/tcp", tcpListenState)
}

// portOwners reads table (and table6) for port's sockets in state.
func portOwners(proc string, pid int, port uint16, table, state string) (mine, others bool, err error) {
	inodes := map[string]bool{}
	if _, err := os.Stat(filepath.Join(proc, table)); err != nil {
		return false, false, err
	}
	for _, f := range []string{table, table + "6"} {
		if err := tableInodes(filepath.Join(proc, f), port, state, inodes); err != nil {
			return false, false, err
		}
	}
	fdDir := filepath.Join(proc, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fdDir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		ents, err = nil, nil // gone, or a zombie whose table is gone
	}
	if err != nil {
		return false, false, err
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
	for ino := range inodes {
		if held[ino] {
			mine = true
		} else {
			others = true
		}
	}
	return mine, others, nil
}
