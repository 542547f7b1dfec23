package servers

import (
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// mounted says whether name's overlay is mounted (through the mount table
// when runtime/NAME is not readable: rundir.Dir.Mounted).
func mounted(l layout.Layout, name string) bool {
	m, _ := rundir.Of(l, name).Mounted()
	return m
}
