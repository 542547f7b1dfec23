package servers

import (
	"errors"
	"io/fs"
	"slices"

	"github.com/left4me/left4me/prestart/mountinfo"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// mounted says whether name's overlay is mounted. runtime/NAME is root's
// alone, so without root its merged/ cannot be looked at; the mount table,
// which everyone may read, says it then.
func mounted(l layout.Layout, name string) bool {
	m, err := rundir.Of(l, name).Mounted()
	if !errors.Is(err, fs.ErrPermission) {
		return m
	}
	ms, err := mountinfo.Read(mountinfo.Self)
	merged := l.MergedDir(name)
	return err == nil && slices.ContainsFunc(ms, func(m mountinfo.Mount) bool { return m.Point == merged })
}
