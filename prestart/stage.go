package prestart

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/specfile"
)

// MaxCfgSize bounds a copied server.cfg: a cfg is text, and a huge file or
// an endless one (a device) must not stall a start.
const MaxCfgSize = 1 << 20

// cfgCopy is one aliased overlay's server.cfg to stage.
type cfgCopy struct {
	alias string
	data  []byte // nil when the overlay has no server.cfg
}

// readOverlayCfg reads OverlayCfg below an overlay's directory fd. It never
// follows a link, never blocks on a FIFO and copies only what the server's
// user could read itself, so a hard link in an overlay cannot leak a
// root-only file (such as /etc/shadow) into the upper layer.
func readOverlayCfg(ovfd int, what string, uid, gid int) ([]byte, error) {
	what = what + "/" + OverlayCfg
	fd, err := fsat.OpenBeneath(ovfd, OverlayCfg, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, fsat.ResolveStrict, what)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%s: not a regular file; refusing", what)
	case st.Size > MaxCfgSize:
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d allowed for a cfg", what, st.Size, MaxCfgSize)
	case !readableBy(&st, uid, gid):
		return nil, fmt.Errorf("%s: the server's user (uid %d) may not read it (owner %d, mode %o); refusing to copy it (if it is meant for the server: chmod 644 %s)", what, uid, st.Uid, st.Mode&0o7777, what)
	}
	data, err := specfile.ReadFD(fd, st.Size, MaxCfgSize+1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(data) > MaxCfgSize {
		return nil, fmt.Errorf("%s: grew past %d bytes while read", what, MaxCfgSize)
	}
	return data, nil
}

func readableBy(st *unix.Stat_t, uid, gid int) bool {
	switch {
	case int(st.Uid) == uid:
		return st.Mode&0o400 != 0
	case int(st.Gid) == gid:
		return st.Mode&0o040 != 0
	}
	return st.Mode&0o004 != 0
}

// stage writes server.cfg and the server_ALIAS.cfg copies into
// upper/left4dead2/cfg before the mount, so they show on top of every layer
// and belong to the server's user (a copy-up through the mount would keep the
// overlay author's ownership). upperfd is the instance's upper directory,
// which the server owns: nothing in it is trusted.
func stage(upperfd int, upperPath, serverCfg string, copies []cfgCopy, uid, gid int) error {
	dir := upperfd
	var opened []int
	defer func() { fsat.CloseAll(opened...) }()
	path := upperPath
	for _, comp := range []string{"left4dead2", "cfg"} {
		path += "/" + comp
		fd, created, err := fsat.EnsureDir(dir, comp, 0o755, path)
		if err != nil {
			return err
		}
		opened = append(opened, fd)
		if created {
			if err := unix.Fchown(fd, uid, gid); err != nil {
				return fmt.Errorf("chown %s: %w", path, err)
			}
		}
		dir = fd
	}
	if err := removeStale(dir, path); err != nil {
		return err
	}
	if err := writeNew(dir, "server.cfg", []byte(serverCfg), uid, gid, path); err != nil {
		return err
	}
	for _, c := range copies {
		if c.data == nil {
			continue
		}
		if err := writeNew(dir, AliasCfgName(c.alias), c.data, uid, gid, path); err != nil {
			return err
		}
	}
	return nil
}

// removeStale unlinks server*.cfg left from the previous start (or planted
// by the server). unlinkat removes a link itself, never its target.
func removeStale(dirfd int, path string) error {
	// A fresh open of "." gives os.File its own fd to close.
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("list %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("list %s: %w", path, err)
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "server") || !strings.HasSuffix(n, ".cfg") {
			continue
		}
		if err := unix.Unlinkat(dirfd, n, 0); err != nil {
			if errors.Is(err, unix.EISDIR) {
				return fmt.Errorf("remove stale %s/%s: it is a directory; move it away so server cfgs can be staged", path, n)
			}
			return fmt.Errorf("remove stale %s/%s: %w", path, n, err)
		}
	}
	return nil
}

// writeNew creates name exclusively (it was just removed: anything there
// now was raced in, and O_EXCL refuses to write through it). It is 0600: a
// staged cfg holds the rcon_password, which is for the server alone.
// replaceAt writes name in the open root-owned directory dir by a
// rename of name.new (root's, 0600): a reader sees the old content or the
// new one, never part of it. path names dir in errors.
func replaceAt(dir int, name string, data []byte, path string) error {
	tmp := name + ".new"
	if err := unix.Unlinkat(dir, tmp, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("record %s in %s: %w", name, path, err)
	}
	if err := writeNew(dir, tmp, data, 0, 0, path); err != nil {
		return err
	}
	if err := unix.Renameat(dir, tmp, dir, name); err != nil {
		return fmt.Errorf("record %s in %s: %w", name, path, err)
	}
	return nil
}

func writeNew(dirfd int, name string, data []byte, uid, gid int, path string) error {
	what := path + "/" + name
	fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	defer unix.Close(fd)
	if err := unix.Fchown(fd, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", what, err)
	}
	if err := unix.Fchmod(fd, 0o600); err != nil {
		return fmt.Errorf("chmod %s: %w", what, err)
	}
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", what, err)
		}
		data = data[n:]
	}
	return nil
}
