package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// EphemeralWarnings warns of each port of s inside the host's ephemeral
// range lo..hi (net.ipv4.ip_local_port_range) that reserved (its
// ip_local_reserved_ports) does not hold back: the kernel gives such a
// port to any program's outgoing connection or unbound socket (a DNS
// lookup, Steam, a webhook), so at some start it is taken, and the start
// fails with the port named busy. One warning per place in file that gave
// ports, the sysctl that reserves them all in it.
func (s *Spec) EphemeralWarnings(file string, lo, hi int, reserved func(port int) bool) []error {
	type place struct {
		at    [2]int
		field string
		what  []string
		ports []string
	}
	var places []*place
	byAt := map[[2]int]*place{}
	for _, rp := range s.Ports.List() {
		if rp.Port < lo || rp.Port > hi || reserved(rp.Port) {
			continue
		}
		at := s.portPos[rp.Role]
		pl := byAt[at]
		if pl == nil {
			pl = &place{at: at, field: "port"}
			if rp.Role != RoleGame && !s.portDefault[rp.Role] {
				pl.field = "ports." + string(rp.Role)
			}
			byAt[at] = pl
			places = append(places, pl)
		}
		p := strconv.Itoa(rp.Port)
		pl.what = append(pl.what, "the "+string(rp.Role)+" port "+p+s.describeDefault(rp.Role))
		pl.ports = append(pl.ports, p)
	}
	out := make([]error, 0, len(places))
	for _, pl := range places {
		are, it := "is", "it"
		if len(pl.ports) > 1 {
			are, it = "are", "one"
		}
		out = append(out, &Error{File: file, Line: pl.at[0], Column: pl.at[1], Field: pl.field, Msg: fmt.Sprintf(
			"%s %s inside the host's ephemeral range %d-%d (net.ipv4.ip_local_port_range): the kernel gives those ports to any program's outgoing connections, so one may hold %s when the server starts, and the start fails; choose ports outside the range, or reserve them: add %s to net.ipv4.ip_local_reserved_ports (one comma list for the whole host: a value set replaces it, so keep the ports it holds; in a file of /etc/sysctl.d, then sysctl --system)",
			strings.Join(pl.what, ", "), are, lo, hi, it, strings.Join(pl.ports, ","))})
	}
	return out
}
