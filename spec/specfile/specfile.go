// Package specfile reads a spec file the way every part of left4me must:
// a regular file of bounded size, opened so that a FIFO cannot hang the
// reader. It imports no YAML code, so the start helper can compare a spec
// with its start plan without linking the parser.
package specfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// MaxSize bounds a spec file.
const MaxSize = 1 << 20

// Errors of Read, matched with errors.Is.
var (
	// ErrNotRegular: a FIFO, device, socket or directory.
	ErrNotRegular = errors.New("not a regular file")
	// ErrSymlink: a symbolic link, never followed (a link to /etc/shadow
	// would have root read it and quote its lines in errors).
	ErrSymlink = errors.New("is a symbolic link; specs must be regular files and links are never followed")
)

// Read returns the content of the spec file at path. A missing file is an
// error that matches fs.ErrNotExist; a symbolic link matches ErrSymlink
// (whether or not its target exists); a FIFO, device or directory matches
// ErrNotRegular; a file over MaxSize is read up to MaxSize+1 bytes and
// returned, so the caller reports it with its own location rules.
func Read(path string) ([]byte, error) { return ReadAt(unix.AT_FDCWD, path, path) }

// ReadAt is Read of name relative to the directory dirfd (the generator
// reads thousands of specs from one directory); path names it in errors.
// The file is looked at through an O_PATH descriptor first, so neither a
// link nor a device is ever opened for reading: only a regular file is,
// through that very descriptor.
func ReadAt(dirfd int, name, path string) ([]byte, error) {
	pfd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return nil, fmt.Errorf("%s: %w", path, ErrSymlink)
	default:
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	data, err := ReadFD(fd, st.Size, MaxSize+1)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return data, nil
}

// ReadFD reads a regular file's fd to its end, at most limit bytes, with
// plain read(2) calls: os.File would register the fd with the runtime's
// poller first (epoll_create1, eventfd, fcntl, epoll_ctl), which costs a
// short-lived helper more than the read. size is fstat's size: reading stops
// there (0: at end of file).
func ReadFD(fd int, size int64, limit int) ([]byte, error) {
	b := make([]byte, 0, min(max(int(size), 512), limit)+1)
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := unix.Read(fd, b[len(b):min(cap(b), limit)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		b = b[:len(b)+n]
		if size > 0 && len(b) == int(size) {
			break // all fstat promised: spare the read that returns 0
		}
	}
	return b, nil
}
