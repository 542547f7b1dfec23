package prestart

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
)

// IdmapPinDir is where the start helper keeps the user namespace of the
// idmapped layers for the rest of the boot (a tmpfs, so a reboot forgets
// it): creating one costs a fork and exec (see newIdmap), about 6 ms per
// start on a small VM, while opening a pinned one costs microseconds.
const IdmapPinDir = "/run/left4me/idmap"

// nsGetNstype is NS_GET_NSTYPE from <linux/nsfs.h>: _IO(0xb7, 0x3).
const nsGetNstype = 0xb703

// pinnedIdmap returns a user namespace swapping root with uid/gid: the one
// pinned in dir (a bind mount of its nsfs file, as ip-netns(8) pins network
// namespaces), or a new one, which it pins there. Only root can create a
// mount, and dir must be root's alone, so what is pinned there was pinned
// by a start helper; it is still checked to be a user namespace. The name
// carries uid and gid, so a re-created server user gets a fresh mapping.
// An empty dir pins nothing.
func pinnedIdmap(dir string, uid, gid int) (int, error) {
	if dir == "" {
		return newIdmap(uid, gid)
	}
	dfd, err := openPinDir(dir)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dfd)
	// Starts at boot run at once: the first pins, the others wait for it.
	if err := layout.LockFD(dfd, true, dir); err != nil {
		return -1, fmt.Errorf("idmap: %w", err)
	}
	name := "userns-" + strconv.Itoa(uid) + "-" + strconv.Itoa(gid)
	path := dir + "/" + name
	if fd, err := openPinned(dfd, name, path); err == nil || !errors.Is(err, errNotPinned) {
		return fd, err
	}
	ns, err := newIdmap(uid, gid)
	if err != nil {
		return -1, err
	}
	// The mount point: an empty file, or the one an unmounted pin left.
	mp, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		unix.Close(ns)
		return -1, fmt.Errorf("idmap: create %s: %w", path, err)
	}
	unix.Close(mp)
	// Both ends through descriptors: dir cannot be swapped in between.
	err = unix.Mount(fdPath(ns), fdPath(dfd)+"/"+name, "", unix.MS_BIND, "")
	if err != nil {
		// Still good for this start (one fork more); the next tries again.
		return ns, nil
	}
	unix.Close(ns)
	return openPinned(dfd, name, path)
}

// errNotPinned: the pin file exists but holds no namespace (never mounted,
// or unmounted by hand).
var errNotPinned = errors.New("no user namespace pinned")

// openPinned opens the namespace pinned as name in dfd, checking that it is
// one: a user namespace on nsfs.
func openPinned(dfd int, name, path string) (int, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, errNotPinned
	}
	if err != nil {
		return -1, fmt.Errorf("idmap: open %s: %w", path, err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("idmap: statfs %s: %w", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return -1, errNotPinned
	}
	if t, err := unix.IoctlRetInt(fd, nsGetNstype); err != nil || t != unix.CLONE_NEWUSER {
		unix.Close(fd)
		return -1, fmt.Errorf("idmap: %s is a namespace but not a user namespace (type %#x, %v); unmount it", path, t, err)
	}
	return fd, nil
}

// openPinDir opens (creating) dir, which must be a directory that only
// root can write or read, reached without links.
func openPinDir(dir string) (int, error) {
	// /run/left4me is made by the start helper (console, idmap); a start by
	// hand may find it missing.
	if err := unix.Mkdir(filepath.Dir(dir), 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("idmap: create %s: %w", filepath.Dir(dir), err)
	}
	if err := unix.Mkdir(dir, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("idmap: create %s: %w", dir, err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("idmap: open %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("idmap: stat %s: %w", dir, err)
	}
	if st.Uid != 0 || st.Mode&0o077 != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("idmap: %s must be root's alone (owner %d, mode %#o); remove it", dir, st.Uid, st.Mode&0o7777)
	}
	return fd, nil
}
