package probe

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
		if len(f) < 10 || !bytes.HasSuffix(f[1], []byte(want)) {
			continue
		}
		into[string(f[9])] = true
	}
	return sc.Err()
}
