// Package safepath tells whether a file that decides what root runs (a
// program, or a file naming one) can be changed only by root: the file
// and every directory above it root's (or the running user's) and
// writable by nobody else, as sshd checks the commands it runs for
// others (safe_path, OpenSSH misc.c). Whoever could change such a file
// would have root run their code.
package safepath

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Error is a file or directory others could change.
type Error struct {
	Path string // the file, or the directory above it, at fault
	Uid  uint32
	Mode uint32 // permission bits, with setuid, setgid and sticky
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s is owned by uid %d with mode %o; it decides what root runs, so it and the directories above it must be root's and writable by nobody else: chown root: %s; chmod go-w %s",
		e.Path, e.Uid, e.Mode, e.Path, e.Path)
}

// Check returns path after links when it and every directory above it
// are root's (or the running euid's) and writable by nobody else; else
// an *Error naming the first that is not. The directories of the path as
// written are checked too, and a link's owner (a link in a directory
// others can write, or theirs in a sticky one, could be pointed
// elsewhere); the returned path is the one to use, so nothing
// swapped after the check is used. A sticky directory (/tmp) passes: in
// it, only its owner and the entry's may rename or remove the entry,
// which is checked too.
func Check(path string) (string, error) {
	path, err := filepath.Abs(path) // the walk up ends at "/"
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", err
	}
	if err := chain(real, unix.Stat, true); err != nil {
		return "", err
	}
	if err := chain(path, unix.Lstat, true); err != nil {
		return "", err
	}
	return real, nil
}

// chain checks p (the file itself if file) and each directory above it
// with stat.
func chain(p string, stat func(string, *unix.Stat_t) error, file bool) error {
	me := uint32(os.Geteuid())
	for first := file; ; first = false {
		var st unix.Stat_t
		if err := stat(p, &st); err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if !safe(st, me, first) {
			return &Error{Path: p, Uid: st.Uid, Mode: st.Mode & 0o7777}
		}
		if p == "/" {
			return nil
		}
		p = filepath.Dir(p)
	}
}

// safe tells whether only root or me can change st's entry.
func safe(st unix.Stat_t, me uint32, file bool) bool {
	sticky := st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Mode&unix.S_ISVTX != 0 && !file
	link := st.Mode&unix.S_IFMT == unix.S_IFLNK // its mode means nothing
	if st.Uid != 0 && st.Uid != me {
		return false
	}
	return link || sticky || st.Mode&0o022 == 0
}
