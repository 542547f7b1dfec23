// Package rundir acts on an instance's runtime state, runtime/NAME below
// the state root (whose parts spec/layout names: layout.Upper, …): the
// per-instance lock every helper and command takes (a spec/layout flock),
// whether and what is mounted there, unmounting, and the record of which
// installation the last start mounted. Everything else calls it rather
// than taking the lock itself.
package rundir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/mountinfo"
	"github.com/left4me/left4me/spec/layout"
)

// Dir is runtime/NAME of one instance.
type Dir struct {
	Name string
	Path string
}

// Of is instance name's runtime directory in layout l. The name must have
// been validated (layout.ValidateName).
func Of(l layout.Layout, name string) Dir {
	return Dir{Name: name, Path: l.RuntimeDir(name)}
}

// Part is the path of one of the parts above.
func (d Dir) Part(name string) string { return filepath.Join(d.Path, name) }

// Lock modes.
const (
	Wait   = iota // block until the lock is free (the helpers)
	NoWait        // fail at once with a *layout.HeldError (layout.ErrLocked)
)

// Lock takes the instance's lock, an exclusive flock on runtime/NAME, so
// that a start, a stop, a reset and a gc never interleave on one tree.
// The returned descriptor is runtime/NAME itself (opened without following
// a link); closing it releases the lock. A missing directory matches
// fs.ErrNotExist.
func (d Dir) Lock(mode int) (int, error) { return layout.OpenLocked(d.Path, mode == Wait) }

// LockWait is Lock(Wait) that first tells onWait who holds the lock, once
// (layout.LockFDWait).
func (d Dir) LockWait(onWait func(*layout.HeldError)) (int, error) {
	return layout.OpenLockedWait(d.Path, onWait)
}

// LockAll takes every instance's lock below the state root, retrying until
// ctx ends, so that no start resolves and mounts a version while a gc
// decides what is in use. release gives them back.
func LockAll(ctx context.Context, l layout.Layout) (release func(), err error) {
	names, err := List(l)
	if err != nil {
		return nil, err
	}
	var fds []int
	release = func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	for _, n := range names {
		d := Of(l, n)
		err := layout.Retry(ctx, func() error {
			fd, err := d.Lock(NoWait)
			if err == nil {
				fds = append(fds, fd)
			}
			return err
		}, nil)
		if errors.Is(err, fs.ErrNotExist) {
			continue // reset or deleted meanwhile
		}
		if errors.Is(err, layout.ErrLocked) {
			release()
			return nil, fmt.Errorf("%s stays locked by a start or stop of %s: %w", d.Path, n, err)
		}
		if err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// List is the instances that have a runtime directory, sorted.
func List(l layout.Layout) ([]string, error) {
	rt := l.RuntimeRoot()
	ents, err := os.ReadDir(rt)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", rt, err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && layout.ValidateName(e.Name()) == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Mounted reports whether the instance's overlay is mounted. runtime/NAME
// is root's alone, so without root its merged/ cannot be looked at; the
// mount table, which everyone may read, says it then (list, status, game
// and overlay status run by an operator without root).
func (d Dir) Mounted() (bool, error) {
	merged := d.Part(layout.Merged)
	m, err := fsat.IsMountPoint(merged)
	if !errors.Is(err, fs.ErrPermission) {
		return m, err
	}
	ms, merr := mountinfo.Read(mountinfo.Self)
	if merr != nil {
		return false, err
	}
	return slices.ContainsFunc(ms, func(m mountinfo.Mount) bool { return m.Point == merged }), nil
}

// MountedAll lists, sorted, the instances whose overlay is mounted.
func MountedAll(l layout.Layout) ([]string, error) {
	names, err := List(l)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		m, err := Of(l, n).Mounted()
		if err != nil {
			return nil, err
		}
		if m {
			out = append(out, n)
		}
	}
	return out, nil
}

// maxStacked bounds Unmount: mounts can stack on one mount point (a helper
// killed after mounting, then another start), and each umount removes only
// the top one.
const maxStacked = 32

// Unmount removes every mount stacked on path and says how many there
// were. A busy mount (an operator's shell inside it) is detached lazily:
// the instance is stopped either way, and the next start must find the
// mount point free.
func Unmount(path string) (n int, err error) {
	for ; n < maxStacked; n++ {
		mounted, err := fsat.IsMountPoint(path)
		if err != nil || !mounted {
			return n, err
		}
		err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) {
			return n, fmt.Errorf("unmount %s: %w", path, err)
		}
	}
	return n, fmt.Errorf("unmount %s: still mounted after %d unmounts", path, maxStacked)
}

// ReadRecord is the installation the last start recorded, as written
// ("installations/ID" or "installation"). Only a small regular file owned
// by root counts: runtime/NAME is root's, the server cannot write it.
func (d Dir) ReadRecord() (string, bool) { return d.readSmall(layout.Record) }

// ReadStopped is the run (INVOCATION_ID) of the last server that ended in
// a stop PID 1 was asked for (layout.Stopped), or "". Like ReadRecord,
// only a small regular file owned by root counts.
func (d Dir) ReadStopped() string {
	s, _ := d.readSmall(layout.Stopped)
	return s
}

func (d Dir) readSmall(part string) (string, bool) {
	p := d.Part(part)
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 4096 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		return "", false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// ReadCeiling is the disk ceiling the last start was given
// (layout.Ceiling, 0: none); ok is false without one. Like ReadRecord,
// only a small regular file owned by root counts.
func (d Dir) ReadCeiling() (bytes int64, ok bool) {
	s, ok := d.readSmall(layout.Ceiling)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// ReadUsage is the last measure of the instance's upper layer and dumps
// (layout.Usage) and when it was taken; ok is false without one. Like
// ReadRecord, only a small regular file owned by root counts.
func (d Dir) ReadUsage() (bytes int64, at time.Time, ok bool) {
	p := d.Part(layout.Usage)
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() || st.Size() > 64 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		return 0, time.Time{}, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, time.Time{}, false
	}
	n, t, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	bytes, err1 := strconv.ParseInt(n, 10, 64)
	sec, err2 := strconv.ParseInt(t, 10, 64)
	if err1 != nil || err2 != nil || bytes < 0 {
		return 0, time.Time{}, false
	}
	return bytes, time.Unix(sec, 0), true
}
