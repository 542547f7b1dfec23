package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/mountinfo"
)

// MountsUnder lists the host's mount points beneath dir (and dir itself
// if includeSelf), deepest first so they can be unmounted in order.
func MountsUnder(dir string, includeSelf bool) ([]string, error) {
	ms, err := mountinfo.Read(mountinfo.Self)
	if err != nil {
		return nil, err
	}
	pts := mountinfo.Under(ms, dir, includeSelf)
	sort.Slice(pts, func(i, j int) bool { return len(pts[i]) > len(pts[j]) })
	return pts, nil
}

// unmountUnder unmounts everything at or beneath dir (below it only, if
// not includeSelf). A busy mount is retried briefly (a dying container may
// still hold it) and finally detached, so the mount table is clean either
// way; the error then says that something was still using it.
func unmountUnder(dir string, includeSelf bool) error {
	pts, err := MountsUnder(dir, includeSelf)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pts {
		err := unix.Unmount(p, 0)
		for i := 0; errors.Is(err, unix.EBUSY) && i < 20; i++ {
			time.Sleep(100 * time.Millisecond)
			err = unix.Unmount(p, 0)
		}
		if errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("%s was busy, detached it", p))
			err = unix.Unmount(p, unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) { // EINVAL: already gone
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// deadOwner reports whether name is "PREFIX-PID..." (a mount source or a
// cgroup) of a process that no longer exists.
func deadOwner(prefix, name string) bool {
	rest, ok := strings.CutPrefix(name, prefix)
	pid, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(pid)
	return ok && err == nil && unix.Kill(n, 0) == unix.ESRCH
}

// Swept is a leftover Sweep removed, or failed to remove if Err is set.
type Swept struct {
	Path string // mount point or cgroup directory
	Err  error
}

// Sweep removes the mounts and cgroups whose names start with prefix of
// an owner that was killed before it could clean up (e.g. a test binary
// killed by go test -timeout; its container was halted by Pdeathsig, but
// these stay). They are named after the dead owner's PID, which leaves
// those of concurrently running owners alone.
func Sweep(prefix string) ([]Swept, error) {
	ms, err := mountinfo.Read(mountinfo.Self)
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var swept []Swept
	for _, m := range ms {
		if m.FSType != "tmpfs" || !deadOwner(prefix, m.Source) {
			continue
		}
		err := unmountUnder(m.Point, true)
		os.Remove(m.Point) // rmdir: never recurses into what is still mounted
		swept = append(swept, Swept{m.Point, err})
	}
	parents, _ := cgroupParents()
	for _, p := range parents {
		cgs, _ := filepath.Glob(filepath.Join(p, prefix+"*"))
		for _, cg := range cgs {
			if deadOwner(prefix, filepath.Base(cg)) {
				swept = append(swept, Swept{cg, removeCgroups([]string{cg})})
			}
		}
	}
	return swept, nil
}
