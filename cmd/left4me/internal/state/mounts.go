// Package state inspects and removes an instance's runtime tree
// (runtime/NAME: upper, work, merged) without following links out of it.
package state

import "github.com/left4me/left4me/prestart/mountinfo"

// MountInfo is the kernel's list of the mounts this process sees.
const MountInfo = mountinfo.Self

// MountsUnder lists the mount points at or below dir found in the
// mountinfo file (see proc(5)); dir must be free of symlinks.
func MountsUnder(path, dir string) ([]string, error) {
	ms, err := mountinfo.Read(path)
	if err != nil {
		return nil, err
	}
	return mountinfo.Under(ms, dir, true), nil
}
