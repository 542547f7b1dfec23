package spec

import (
	"errors"
	"fmt"
	"sort"

	"github.com/left4me/left4me/spec/layout"
)

// ClaimPorts applies the rule that spans specs: a port belongs to one
// instance, and every other spec that names it is refused (its Err set,
// matching ErrPortConflict, its Spec dropped). Every port of an instance's
// set counts (game, client, SourceTV, Steam: see Ports), whichever role
// each has on either side. Who holds a port, first to last:
//
//  1. a server that runs with it (claims: the set its start was given,
//     while its overlay is mounted), whatever any spec says since, its
//     own included: a restart into another's port would stop a healthy
//     server for a start that cannot bind;
//  2. an instance whose last start was given it and whose spec still
//     names it: a spec copied in with an old date (cp -p, rsync -a) takes
//     nothing from a server that is merely stopped;
//  3. the older spec file (its modification time), name order only
//     breaking a tie, so dropping a new spec with a port in use takes
//     nothing from its holder: the newcomer is the one refused, by
//     `left4me validate` and by the generator alike.
//
// claims may be nil (the state root unreadable): the specs' ages decide.
//
// The server user is claimed the same way: names too long for
// "l4d2-NAME" get a 32-bit hash (layout.ServerUser), and two of them that
// hash alike would run as one user, able to reach each other's files and
// processes; the newer is refused.
func ClaimPorts(ins []Instance, claims map[string]Claim) {
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
	// A stopped instance holds its last start's ports only while its own
	// spec is accepted: one refused (say, for another port) would block
	// others for nothing. Dropping its hold may accept others, never
	// refuse more, so this ends within len(order) rounds.
	specs := make([]*Spec, len(ins))
	for i := range ins {
		specs[i] = ins[i].Spec
	}
	dropped := map[string]bool{}
	for range len(order) + 1 {
		for _, i := range order {
			ins[i].Spec, ins[i].Err = specs[i], nil
		}
		owner, lastStart := claimed(ins, order, claims, dropped)
		claimByAge(ins, order, owner)
		more := false
		for _, i := range order {
			if ins[i].Spec == nil && lastStart[ins[i].Name] && !dropped[ins[i].Name] {
				dropped[ins[i].Name], more = true, true
			}
		}
		if !more {
			return
		}
	}
}

// claimByAge judges each spec of order, oldest first, against owner, and
// claims its ports when it is accepted (rule 3); a refused one gets its
// Err and loses its Spec.
func claimByAge(ins []Instance, order []int, owner map[int]holder) {
	users := map[string]string{}
	for _, i := range order {
		in := &ins[i]
		if err := in.Spec.portClash(in.File, in.Name, owner); err != nil {
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
			if _, held := owner[rp.Port]; !held {
				owner[rp.Port] = holder{in.Name, rp.Role, ", whose spec is older"}
			}
		}
	}
}

// claimed is who holds ports before any spec is judged by age: running
// servers (rule 1), then stopped instances' last starts (rule 2; not those
// dropped), each in the order of the specs' ages (order), then instances
// without a spec, by name. lastStart names the instances rule 2 gave a
// port.
func claimed(ins []Instance, order []int, claims map[string]Claim, dropped map[string]bool) (owner map[int]holder, lastStart map[string]bool) {
	owner, lastStart = map[int]holder{}, map[string]bool{}
	if len(claims) == 0 {
		return owner, lastStart
	}
	var names []string
	wants := map[string]*Spec{}
	for _, i := range order {
		names = append(names, ins[i].Name)
		wants[ins[i].Name] = ins[i].Spec
	}
	var rest []string
	for n := range claims {
		if _, ok := wants[n]; !ok {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	names = append(names, rest...)
	for _, n := range names {
		if c := claims[n]; c.Running {
			for _, rp := range c.Ports {
				if _, held := owner[rp.Port]; !held {
					owner[rp.Port] = holder{n, rp.Role, ", whose server runs with it"}
				}
			}
		}
	}
	for _, n := range names {
		c, s := claims[n], wants[n]
		if c.Running || s == nil || dropped[n] {
			continue
		}
		for _, rp := range c.Ports {
			if _, held := owner[rp.Port]; !held && s.Ports.Has(rp.Port) {
				owner[rp.Port] = holder{n, rp.Role, ", which its last start was given"}
				lastStart[n] = true
			}
		}
	}
	return owner, lastStart
}

// holder is who holds a port, in which role, and why (for the message).
type holder struct {
	name string
	role PortRole
	why  string
}

// portClash reports every port of s that owner holds already, each at the
// place in file that gave it (port: for the ports of the default rule).
func (s *Spec) portClash(file, name string, owner map[int]holder) error {
	var errs []error
	told := map[string]bool{} // one problem per other instance: the first
	for _, rp := range s.Ports.List() {
		h, taken := owner[rp.Port]
		if !taken || h.name == name || told[h.name] {
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
			Msg: fmt.Sprintf("%s is already used by instance %q (its %s port)%s; %s", what, h.name, h.role, h.why, hint), kind: ErrPortConflict})
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
func PortClash(ins []Instance, claims map[string]Claim, name, file string, s *Spec) error {
	owner := map[int]holder{}
	for n, c := range claims {
		if c.Running && n != name {
			for _, rp := range c.Ports {
				owner[rp.Port] = holder{n, rp.Role, ", whose server runs with it"}
			}
		}
	}
	for _, in := range ins {
		if in.Spec == nil || in.Name == name {
			continue
		}
		for _, rp := range in.Spec.Ports.List() {
			owner[rp.Port] = holder{in.Name, rp.Role, ""}
		}
	}
	return s.portClash(file, name, owner)
}
