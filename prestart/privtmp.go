package prestart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
)

// PrivateTmp is where systemd keeps the private /tmp and /var/tmp of a
// running unit (PrivateTmp=, which DynamicUser= implies): a directory of
// root's, "systemd-private-BOOTID-UNIT-XXXXXX", below the host's /tmp and
// /var/tmp each (setup_one_tmp_dir(), src/core/namespace.c, systemd 252).
// They are on the host's disks, outside the instance's tree, and the
// server may fill them: the disk timer counts them against its ceiling.
type PrivateTmp struct {
	Dirs   []string // the host's /tmp and /var/tmp
	BootID string   // 32 hex digits, as systemd names the directories
}

// HostPrivateTmp is the host's: /tmp and /var/tmp, this boot's id.
func HostPrivateTmp() (PrivateTmp, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return PrivateTmp{}, fmt.Errorf("boot id: %w", err)
	}
	return PrivateTmp{Dirs: []string{"/tmp", "/var/tmp"}, BootID: strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")}, nil
}

// usage is what name's server holds in its private temporary
// directories. Only directories of root's count, as systemd makes them:
// anybody may create a look-alike in /tmp, which must not stop a server.
func (p PrivateTmp) usage(name string) (int64, error) {
	if p.BootID == "" {
		return 0, nil
	}
	prefix := "systemd-private-" + p.BootID + "-" + layout.Unit(name) + "-"
	var total int64
	for _, dir := range p.Dirs {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, fmt.Errorf("open %s: %w", dir, err)
		}
		names, err := fsat.ReadDirNames(fd)
		if err == nil {
			for _, n := range names {
				if !strings.HasPrefix(n, prefix) || len(n) != len(prefix)+6 {
					continue
				}
				var m int64
				if m, err = privateDirUsage(fd, filepath.Join(dir, n), n); err != nil {
					break
				}
				total += m
			}
		}
		unix.Close(fd)
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

// privateDirUsage measures dir/name when it is a directory of root's.
func privateDirUsage(dir int, what, name string) (int64, error) {
	sub, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", what, err)
	}
	defer unix.Close(sub)
	var st unix.Stat_t
	if err := unix.Fstat(sub, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", what, err)
	}
	if st.Uid != 0 {
		return 0, nil
	}
	return usage(sub, what, 0)
}
