package probe

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReservedPorts reads net.ipv4.ip_local_reserved_ports (also IPv6's): the
// ports of the ephemeral range the kernel never hands out on its own, as
// the kernel writes them ("8080,27015-27020", empty when none).
func ReservedPorts(proc string) (func(port int) bool, error) {
	b, err := os.ReadFile(filepath.Join(proc, "sys/net/ipv4/ip_local_reserved_ports"))
	if err != nil {
		return nil, err
	}
	return parseReserved(string(b))
}

func parseReserved(s string) (func(port int) bool, error) {
	var spans [][2]int
	for _, f := range strings.Split(strings.TrimSpace(s), ",") {
		if f == "" {
			continue
		}
		lo, hi, isSpan := strings.Cut(f, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b := a
		var err2 error
		if isSpan {
			b, err2 = strconv.ParseUint(hi, 10, 16)
		}
		if err1 != nil || err2 != nil || a > b {
			return nil, fmt.Errorf("ip_local_reserved_ports: %q is not a port or a range of ports", f)
		}
		spans = append(spans, [2]int{int(a), int(b)})
	}
	return func(port int) bool {
		for _, sp := range spans {
			if sp[0] <= port && port <= sp[1] {
				return true
			}
		}
		return false
	}, nil
}
