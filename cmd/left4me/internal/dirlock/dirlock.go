// Package dirlock takes exclusive flocks on directories, and says who
// holds one: the CLI's operations that must not run side by side (two
// updates of one store, two creates reading and writing the specs) lock a
// directory they work in. A flock on a directory needs no file of its own,
// so it works on a read-only /etc/left4me too, and dies with its holder.
package dirlock

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

// Try takes the lock on dir without waiting; when another process holds
// it, the error is a *HeldError.
func Try(dir string) (release func(), err error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer unix.Close(fd)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &HeldError{Dir: dir, Holder: holder(fd)}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { unix.Close(fd) }, nil
}

// TryMkdir is Try on directory dir, creating it (0755) if missing: the
// store locks of game installations and overlay builds.
func TryMkdir(dir string) (release func(), err error) {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return Try(dir)
}

// Wait takes the lock on dir, waiting while another process holds it
// (telling onWait who, once) until ctx ends.
func Wait(ctx context.Context, dir string, onWait func(*HeldError)) (release func(), err error) {
	told := false
	for {
		release, err := Try(dir)
		var held *HeldError
		if !errors.As(err, &held) {
			return release, err
		}
		if !told && onWait != nil {
			onWait(held)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w; gave up waiting: %w", held, ctx.Err())
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
