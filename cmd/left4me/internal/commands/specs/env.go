// Package specs edits and checks instance specs: create, reset, delete,
// render and validate.
package specs

import "github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"

// Env is what the spec commands use.
type Env struct {
	*dayops.Env
	MountInfo string // /proc/self/mountinfo, for the checks before removing
	Proc      string // /proc, for the host's port ranges; "" reads none
}
