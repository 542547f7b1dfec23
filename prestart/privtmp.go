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

// privateDir is one unit's private directory below an open host dir.
type privateDir struct {
	parent int // the host's /tmp or /var/tmp, open for the round
	name   string
	path   string
}

// tmpIndex is a round's look at the host's temporary directories: each
// listed once, whatever number of servers is measured (anybody may fill
// /tmp with names, and every server's measure would list them again).
type tmpIndex struct {
	fds  []int
	dirs map[string][]privateDir // by unit
}

// index lists p.Dirs once, keeping this boot's systemd-private entries of
// l4d2@ units. A host directory that cannot be read is an error of the
// host, not of a server: the caller says so and measures without it.
func (p PrivateTmp) index() (*tmpIndex, error) {
	ix := &tmpIndex{dirs: map[string][]privateDir{}}
	if p.BootID == "" {
		return ix, nil
	}
	prefix := "systemd-private-" + p.BootID + "-"
	var errs []error
	for _, dir := range p.Dirs {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("private temporary directories: open %s: %w", dir, err))
			continue
		}
		ix.fds = append(ix.fds, fd)
		err = fsat.EachName(fd, func(n string) {
			// ...-l4d2@NAME.service-XXXXXX
			rest, ok := strings.CutPrefix(n, prefix)
			if !ok || len(rest) < 7 || rest[len(rest)-7] != '-' || !strings.HasPrefix(rest, "l4d2@") {
				return
			}
			unit := rest[:len(rest)-7]
			ix.dirs[unit] = append(ix.dirs[unit], privateDir{parent: fd, name: n, path: filepath.Join(dir, n)})
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("private temporary directories: list %s: %w", dir, err))
		}
	}
	return ix, errors.Join(errs...)
}

func (ix *tmpIndex) close() {
	for _, fd := range ix.fds {
		unix.Close(fd)
	}
}

// usage is what name's server holds in its private temporary
// directories. Only directories of root's count, as systemd makes them:
// anybody may create a look-alike in /tmp, which must not stop a server.
func (ix *tmpIndex) usage(name string) (int64, error) {
	var total int64
	for _, d := range ix.dirs[layout.Unit(name)] {
		sub, ok := systemdDir(d.parent, d.name)
		if !ok {
			continue
		}
		n, err := usageOf(sub, d.path)
		unix.Close(sub)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// systemdDir opens name below parent for reading when it is what systemd
// makes there: a directory of root's, mode 0700, on parent's filesystem.
// Anything else is somebody's look-alike and skipped, whatever it is:
// looked at without following a link or entering a mount (a user's FUSE
// mount could refuse root, or never answer), so it can neither fail the
// round for the server it names nor hold it up.
func systemdDir(parent int, name string) (int, bool) {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH}
	path, err := unix.Openat2(parent, name, &how)
	if err != nil {
		return -1, false
	}
	defer unix.Close(path)
	var st unix.Stat_t
	if err := unix.Fstat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0 || st.Mode&0o7777 != 0o700 {
		return -1, false
	}
	dir, err := unix.Openat(path, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, false
	}
	return dir, true
}
