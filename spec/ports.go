package spec

import (
	"fmt"
	"sort"
)

// ClaimPorts applies the rule that spans specs: a port belongs to one
// instance, the one that claimed it first, and every other spec that names
// it is refused (its Err set, matching ErrPortConflict, its Spec dropped).
// "First" is the older spec file (its modification time), name order only
// breaking a tie, so dropping a new spec with a running server's port
// takes nothing from that server: the newcomer is the one refused, by
// `left4me validate` and by the generator alike. An edit makes a spec
// newer: a port conflict is best fixed when validate reports it.
func ClaimPorts(ins []Instance) {
	order := make([]int, 0, len(ins))
	for i := range ins {
		if ins[i].Spec != nil {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := &ins[order[a]], &ins[order[b]]
		if !x.ModTime.Equal(y.ModTime) {
			return x.ModTime.Before(y.ModTime)
		}
		return x.Name < y.Name
	})
	owner := map[int]string{}
	for _, i := range order {
		in := &ins[i]
		s := in.Spec
		if prev, taken := owner[s.Port]; taken {
			in.Err = &Error{File: in.File, Line: s.portLine, Column: s.portCol, Field: "port",
				Msg: fmt.Sprintf("%d is already used by instance %q, whose spec is older; pick another port", s.Port, prev), kind: ErrPortConflict}
			in.Spec = nil
			continue
		}
		owner[s.Port] = in.Name
	}
}

// PortHolder is the instance among ins (as LoadAll returns them) that
// holds port, for `left4me create` to refuse a second claim.
func PortHolder(ins []Instance, port int) (Instance, bool) {
	for _, in := range ins {
		if in.Spec != nil && in.Spec.Port == port {
			return in, true
		}
	}
	return Instance{}, false
}
