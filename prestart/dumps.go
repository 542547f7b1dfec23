package prestart

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
)

// keepDumps is how many minidumps a start leaves, and maxDumpBytes how
// much they may hold together; older ones are removed, so a crash loop (or
// a server writing there) cannot fill the disk with them.
const (
	keepDumps    = 5
	maxDumpBytes = 256 << 20
)

// ensureDumps creates runtime/NAME/dumps (layout.Dumps), which receives the
// engine's crash minidumps (the unit binds it on /tmp/dumps, where breakpad
// writes them, so they outlive one run's private /tmp), for the server's
// user and trims
// it. The server writes there, so nothing in it is followed: entries are
// examined with fstatat(AT_SYMLINK_NOFOLLOW) and removed with unlinkat,
// which never follows a link.
func ensureDumps(c Config, dir int, what string) error {
	fd, created, err := fsat.EnsureDir(dir, layout.Dumps, 0o750, what)
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
	n, err := trimDumps(fd, keepDumps, maxDumpBytes)
	if err != nil {
		return fmt.Errorf("trim %s: %w", what, err)
	}
	if n > 0 {
		c.step("removed %d old crash dump(s) from %s, kept the newest (at most %d, %s)", n, what, keepDumps, Size(maxDumpBytes))
	}
	return nil
}

// trimDumps keeps the newest entries of dir, at most keep of them and
// maxBytes together, and removes the rest: files, and directories with all
// they hold (the server writes there, so a directory counts like a file
// and nothing in it is followed).
func trimDumps(dir, keep int, maxBytes int64) (int, error) {
	names, err := fsat.ReadDirNames(dir)
	if err != nil {
		return 0, err
	}
	type dump struct {
		name  string
		mtime int64
		size  int64
		isDir bool
	}
	var dumps []dump
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(dir, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile
		}
		d := dump{name: n, mtime: st.Mtim.Nano(), size: st.Blocks * 512, isDir: st.Mode&unix.S_IFMT == unix.S_IFDIR}
		if d.isDir {
			fd, err := unix.Openat(dir, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			inner, err := usage(fd, n, 0, 0)
			unix.Close(fd)
			if err != nil {
				inner = maxBytes + 1 // too deep to measure: not kept
			}
			d.size += inner
		}
		dumps = append(dumps, d)
	}
	sort.Slice(dumps, func(i, j int) bool { return dumps[i].mtime > dumps[j].mtime })
	removed, kept := 0, int64(0)
	for i, d := range dumps {
		if i < keep && kept+d.size <= maxBytes {
			kept += d.size
			continue
		}
		var err error
		if d.isDir {
			err = fsat.RemoveTreeAt(dir, d.name, d.name, fsat.RemoveOptions{})
		} else {
			err = unix.Unlinkat(dir, d.name, 0)
		}
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return removed, err
		}
		removed++
	}
	return removed, nil
}
