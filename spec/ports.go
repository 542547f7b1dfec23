package spec

import (
	"errors"
	"fmt"
	"sort"

	"github.com/left4me/left4me/spec/layout"
)

// ClaimPorts applies the rule that spans specs: a port belongs to one
// instance, the one that claimed it first, and every other spec that names
// it is refused (its Err set, matching ErrPortConflict, its Spec dropped).
// Every port of an instance's set counts (game, client, SourceTV, Steam:
// see Ports), whichever role each has on either side. "First" is the
// older spec file (its modification time), name order only breaking a
// tie, so dropping a new spec with a running server's port takes nothing
// from that server: the newcomer is the one refused, by `left4me validate`
// and by the generator alike. An edit makes a spec newer: a port conflict
// is best fixed when validate reports it.
//
// The server user is claimed the same way: names too long for
// "l4d2-NAME" get a 32-bit hash (layout.ServerUser), and two of them that
// hash alike would run as one user, able to reach each other's files and
// processes; the newer is refused.
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
	owner := map[int]holder{}
	users := map[string]string{}
	for _, i := range order {
		in := &ins[i]
		if err := in.Spec.portClash(in.File, owner, ", whose spec is older"); err != nil {
			in.Err, in.Spec = err, nil
			continue
		}
		user := layout.ServerUser(in.Name)
		if other, taken := users[user]; taken {
			in.Err, in.Spec = &Error{File: in.File, kind: ErrUserConflict,
				Msg: fmt.Sprintf("instance %q would run as user %s, as instance %q does, whose spec is older (long names are shortened with a hash, and these two hash alike); rename this instance", in.Name, user, other)}, nil
			continue
		}
		users[user] = in.Name
		for _, rp := range in.Spec.Ports.List() {
			owner[rp.Port] = holder{in.Name, rp.Role}
		}
	}
}

// holder is who holds a port, in which role.
type holder struct {
	name string
	role PortRole
}

// portClash reports every port of s that owner holds already, each at the
// place in file that gave it (port: for the ports of the default rule).
func (s *Spec) portClash(file string, owner map[int]holder, why string) error {
	var errs []error
	told := map[string]bool{} // one problem per other instance: the first
	for _, rp := range s.Ports.List() {
		h, taken := owner[rp.Port]
		if !taken || told[h.name] {
			continue
		}
		told[h.name] = true
		at := s.portPos[rp.Role]
		field, what := "port", fmt.Sprint(rp.Port)
		switch {
		case rp.Role == RoleGame:
		case s.portDefault[rp.Role]:
			what = fmt.Sprintf("its %s port %d%s", rp.Role, rp.Port, s.describeDefault(rp.Role))
		default:
			field = "ports." + string(rp.Role)
		}
		hint := "pick another port"
		if rp.Role != RoleGame && s.portDefault[rp.Role] {
			hint = fmt.Sprintf("pick another port, or give ports: {%s: N}", rp.Role)
		}
		errs = append(errs, &Error{File: file, Line: at[0], Column: at[1], Field: field,
			Msg: fmt.Sprintf("%s is already used by instance %q (its %s port)%s; %s", what, h.name, h.role, why, hint), kind: ErrPortConflict})
	}
	return joinErrs(errs)
}

// joinErrs is errors.Join, but a single error stays itself (its text has
// no wrapping, its type is *Error).
func joinErrs(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// PortClash checks s, a spec about to be written to file, against every
// instance among ins (as LoadAll returns them), for `left4me create`: any
// port of its set held by another instance's set is refused.
func PortClash(ins []Instance, file string, s *Spec) error {
	owner := map[int]holder{}
	for _, in := range ins {
		if in.Spec == nil {
			continue
		}
		for _, rp := range in.Spec.Ports.List() {
			owner[rp.Port] = holder{in.Name, rp.Role}
		}
	}
	return s.portClash(file, owner, "")
}
