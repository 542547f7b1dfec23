// Package layerstore holds what the two stores of immutable layer
// versions below the state root share beyond their lock
// (layout.TryLockMkdir) and removal (fsat.RemoveTree): the gc plan of the
// game installations (package versions) and the overlay builds (package
// ovbuild).
package layerstore

import "strings"

// Plan is what gc does with a store's versions (of type V): the ones it
// removes, and the ones it keeps with the reason.
type Plan[V any] struct {
	Remove []V
	Keep   []Kept[V]
}

// Kept is a version gc keeps, and why.
type Kept[V any] struct {
	Version V
	Reason  string
}

// Add files v as kept for reason, or as to be removed when reason is "".
func (p *Plan[V]) Add(v V, reason string) {
	if reason == "" {
		p.Remove = append(p.Remove, v)
		return
	}
	p.Keep = append(p.Keep, Kept[V]{v, reason})
}

// KeepReason is the rule both stores' gc share: a version is kept because
// it is the current one, or because the instances users run on it. It is
// "" when neither holds.
func KeepReason(current bool, users []string) string {
	switch {
	case current:
		return "current"
	case len(users) > 0:
		return "in use by " + strings.Join(users, ", ")
	}
	return ""
}
