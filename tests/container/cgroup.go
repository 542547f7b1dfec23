package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/left4me/left4me/prestart/mountinfo"
)

// With --keep-unit and --register=no, systemd-nspawn puts the container
// into "payload" and itself into "supervisor" beneath its current cgroup.
// Starting nspawn in a cgroup of its own keeps those apart from the
// caller's, and removing it afterwards leaves nothing behind.

// cgroupDirs creates dir name beneath this process's cgroup in each
// hierarchy that systemd uses and returns the created directories.
func cgroupDirs(name string) ([]string, error) {
	parents, err := cgroupParents()
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, p := range parents {
		dir := filepath.Join(p, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			removeCgroups(dirs)
			return nil, err
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

// cgroupParents returns this process's cgroup directories in cgroup2 and,
// on hybrid hosts, the v1 name=systemd hierarchy.
func cgroupParents() ([]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	ms, err := mountinfo.Read(mountinfo.Self)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || (parts[1] != "" && parts[1] != "name=systemd") {
			continue
		}
		if mnt := cgroupMount(ms, parts[1] == ""); mnt != "" {
			dirs = append(dirs, filepath.Join(mnt, parts[2]))
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no systemd cgroup hierarchy found in /proc/self/cgroup")
	}
	return dirs, nil
}

// cgroupMount finds the mount point of the cgroup2 hierarchy (v2) or of
// the v1 name=systemd hierarchy, mounted at its root.
func cgroupMount(ms []mountinfo.Mount, v2 bool) string {
	for _, m := range ms {
		if m.Root != "/" {
			continue
		}
		if v2 && m.FSType == "cgroup2" {
			return m.Point
		}
		if !v2 && m.FSType == "cgroup" && strings.Contains(","+m.SuperOpts+",", ",name=systemd,") {
			return m.Point
		}
	}
	return ""
}

// removeCgroups removes the given cgroups and whatever nspawn and the
// container's systemd created beneath them, deepest first. A cgroup whose
// killed processes are still exiting is busy for a moment; retry briefly.
func removeCgroups(dirs []string) error {
	err := removeCgroupsOnce(dirs)
	for i := 0; errors.Is(err, syscall.EBUSY) && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		err = removeCgroupsOnce(dirs)
	}
	return err
}

func removeCgroupsOnce(dirs []string) error {
	var firstErr error
	for _, top := range dirs {
		var sub []string
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				sub = append(sub, p)
			}
			return nil
		})
		for i := len(sub) - 1; i >= 0; i-- {
			if err := os.Remove(sub[i]); err != nil && !os.IsNotExist(err) && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}
