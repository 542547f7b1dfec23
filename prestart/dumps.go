package prestart

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/rundir"
)

// keepDumps is how many minidumps a start leaves; older ones are removed,
// so a crash loop cannot fill the disk with them.
const keepDumps = 5

// ensureDumps creates runtime/NAME/dumps (rundir.Dumps), which receives the
// engine's crash minidumps (the unit binds it on /tmp/dumps, where breakpad
// writes them, so they outlive one run's private /tmp), for the server's
// user and trims
// it. The server writes there, so nothing in it is followed: entries are
// examined with fstatat(AT_SYMLINK_NOFOLLOW) and removed with unlinkat,
// which never follows a link.
func ensureDumps(c Config, dir int, what string) error {
	fd, created, err := ensureDir(dir, rundir.Dumps, 0o750, what)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if created {
		if err := unix.Fchown(fd, c.UID, c.GID); err != nil {
			return fmt.Errorf("chown %s: %w", what, err)
		}
	} else if err := adoptUpper(c, fd, what); err != nil {
		return err
	}
	n, err := trimDumps(fd, keepDumps)
	if err != nil {
		return fmt.Errorf("trim %s: %w", what, err)
	}
	if n > 0 {
		c.step("removed %d old crash dump(s) from %s, kept the newest %d", n, what, keepDumps)
	}
	return nil
}

// trimDumps removes all but the newest keep regular files of dir.
func trimDumps(dir, keep int) (int, error) {
	names, err := ReadDirNames(dir)
	if err != nil {
		return 0, err
	}
	type dump struct {
		name  string
		mtime int64
	}
	var dumps []dump
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(dir, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile
		}
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			dumps = append(dumps, dump{n, st.Mtim.Nano()})
		}
	}
	if len(dumps) <= keep {
		return 0, nil
	}
	sort.Slice(dumps, func(i, j int) bool { return dumps[i].mtime > dumps[j].mtime })
	removed := 0
	for _, d := range dumps[keep:] {
		if err := unix.Unlinkat(dir, d.name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// ReadDirNames lists the open directory dir from its current offset (a
// fresh descriptor: all of it), without following or opening anything.
func ReadDirNames(dir int) ([]string, error) {
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}
