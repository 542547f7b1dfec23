// Package specfile reads a spec file the way every part of left4me must:
// a regular file of bounded size, opened so that a FIFO cannot hang the
// reader. It imports no YAML code, so the start helper can compare a spec
// with its start plan without linking the parser.
package specfile

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MaxSize bounds a spec file.
const MaxSize = 1 << 20

// ErrNotRegular is wrapped by Read for a FIFO, device, socket or directory.
var ErrNotRegular = errors.New("not a regular file")

// Read returns the content of the spec file at path. A missing file is an
// error that matches fs.ErrNotExist; a FIFO, device or directory matches
// ErrNotRegular; a file over MaxSize is read up to MaxSize+1 bytes and
// returned, so the caller reports it with its own location rules.
func Read(path string) ([]byte, error) { return ReadAt(unix.AT_FDCWD, path, path) }

// ReadAt is Read of name relative to the directory dirfd (the generator
// reads thousands of specs from one directory); path names it in errors.
func ReadAt(dirfd int, name, path string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRegular)
	}
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
