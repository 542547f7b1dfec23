package startplan

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/specfile"
)

// Read loads a plan that root wrote: a regular file (not followed through a
// link) owned by root and writable by nobody else, at most MaxSize bytes.
// A missing plan is an error matching fs.ErrNotExist.
func Read(path string) (Plan, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return Plan{}, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Plan{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return Plan{}, fmt.Errorf("%s: %w: not a regular file", path, ErrInvalid)
	case st.Uid != 0 || st.Mode&0o022 != 0:
		return Plan{}, fmt.Errorf("%s: %w: must be owned by root and writable by root only (uid %d, mode %o)", path, ErrInvalid, st.Uid, st.Mode&0o7777)
	case st.Size > MaxSize:
		return Plan{}, fmt.Errorf("%s: %w: larger than %d bytes", path, ErrInvalid, MaxSize)
	}
	buf, err := specfile.ReadFD(fd, st.Size, MaxSize+1)
	if err != nil {
		return Plan{}, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if len(buf) > MaxSize {
		return Plan{}, fmt.Errorf("%s: %w: grew while being read", path, ErrInvalid)
	}
	p, err := Decode(buf)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
