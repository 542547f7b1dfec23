// Every lock of left4me is an exclusive flock on a directory of the state
// root or the config dir: runtime/NAME (the instance: start, stop, reset,
// gc), installations/ and overlay-builds/ (the stores), instances/ (the
// specs: create, enable, disable, delete), backups/NAME and the idmap pins.
// A flock on a directory needs no file of its own, so it works on a
// read-only /etc/left4me too, and dies with its holder. Here is the one
// ErrLocked, the one wait loop, and the one report of who holds a lock.

package layout

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked means another process holds the lock.
var ErrLocked = errors.New("locked")

// HeldError is ErrLocked with who holds the lock.
type HeldError struct {
	Dir    string
	Holder string // "pid N (COMMAND LINE)", or "" when it cannot be told
}

func (e *HeldError) Error() string {
	if e.Holder == "" {
		return "another process holds the lock on " + e.Dir
	}
	return e.Holder + " holds the lock on " + e.Dir
}

func (e *HeldError) Unwrap() error { return ErrLocked }

// LockFD takes the lock on the open directory fd (what names it): at
// once, failing with a *HeldError when another process holds it, or, with
// wait, blocking until it is free.
func LockFD(fd int, wait bool, what string) error {
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	err := unix.Flock(fd, how)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return &HeldError{Dir: what, Holder: holder(fd)}
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", what, err)
	}
	return nil
}

// LockFDWait is LockFD waiting, but it first tells onWait (if not nil)
// who holds the lock, once: a helper that waits says on what in the
// journal, as a backup or restore of a large upper layer can hold an
// instance's lock for minutes.
func LockFDWait(fd int, what string, onWait func(*HeldError)) error {
	err := LockFD(fd, false, what)
	var held *HeldError
	if !errors.As(err, &held) {
		return err
	}
	if onWait != nil {
		onWait(held)
	}
	return LockFD(fd, true, what)
}

// OpenLocked opens directory dir, never through a link, and takes its
// lock (see LockFD). The descriptor is the lock: closing it releases it.
// A missing directory matches fs.ErrNotExist.
func OpenLocked(dir string, wait bool) (int, error) {
	return openLocked(dir, func(fd int) error { return LockFD(fd, wait, dir) })
}

// OpenLockedWait is OpenLocked waiting, telling onWait who holds the lock
// first (LockFDWait).
func OpenLockedWait(dir string, onWait func(*HeldError)) (int, error) {
	return openLocked(dir, func(fd int) error { return LockFDWait(fd, dir, onWait) })
}

func openLocked(dir string, lock func(fd int) error) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return -1, fmt.Errorf("%s: not a directory (a symbolic link?); refusing: %w", dir, err)
	}
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	if err := lock(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// TryLock takes the lock on dir without waiting; when another process
// holds it, the error is a *HeldError.
func TryLock(dir string) (release func(), err error) {
	fd, err := OpenLocked(dir, false)
	if err != nil {
		return nil, err
	}
	return func() { unix.Close(fd) }, nil
}

// TryLockMkdir is TryLock on directory dir, creating it (0755) if missing: the
// store locks of game installations and overlay builds.
func TryLockMkdir(dir string) (release func(), err error) {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return TryLock(dir)
}

// WaitLock takes the lock on dir, waiting while another process holds it
// (telling onWait who, once) until ctx ends.
func WaitLock(ctx context.Context, dir string, onWait func(*HeldError)) (release func(), err error) {
	err = Retry(ctx, func() error {
		release, err = TryLock(dir)
		return err
	}, onWait)
	return release, err
}

// Retry is the one wait loop for a lock: it calls try until try does not
// fail with a *HeldError (returning what try returned) or ctx ends,
// telling onWait (if not nil) who holds the lock, once.
func Retry(ctx context.Context, try func() error, onWait func(*HeldError)) error {
	told := false
	for {
		err := try()
		var held *HeldError
		if !errors.As(err, &held) {
			return err
		}
		if !told && onWait != nil {
			onWait(held)
			told = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w; gave up waiting: %w", held, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// holder finds in /proc/locks the process holding a flock on fd's inode.
func holder(fd int) string {
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return ""
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return ""
	}
	defer f.Close()
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; blocked
		// waiters are listed with "->" and are not holders.
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[5] != want {
			continue
		}
		pid, err := strconv.Atoi(fs[4])
		if err != nil || pid == os.Getpid() {
			continue
		}
		return describe(pid)
	}
	return ""
}

func describe(pid int) string {
	s := "pid " + strconv.Itoa(pid)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil || len(b) == 0 {
		return s
	}
	cmd := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if len(cmd) > 120 {
		cmd = cmd[:120] + "..."
	}
	return s + " (" + strings.ToValidUTF8(cmd, "?") + ")"
}
