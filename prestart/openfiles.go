package prestart

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// ErrTooManyHeld: a server holds more descriptors and mappings than the
// disk timer looks at; like a tree too deep, it counts as over its
// ceiling (or it would escape it and hold up every other server's
// measure).
var ErrTooManyHeld = errors.New("holds too many open files to measure")

// maxHeldEntries bounds the descriptors and mappings looked at per server
// and round: srcds holds a few thousand at most (its VPKs, libraries and
// sockets), and each costs about 12 µs.
const maxHeldEntries = 1 << 17

// A server's processes are in its unit's cgroup, which /proc/PID/cgroup
// shows as a path of slices ending in l4d2@NAME.service (v1's
// name=systemd line and v2's alike): system-l4d2.slice by default, or a
// Slice= of the operator's. Only root's systemd makes slices there; a
// user's own units are below user@UID.service, a service, where the user
// may name a cgroup anything, so a path with anything but slices before
// the unit is not a server's.
// proc is one process of a server, its /proc directory open: read
// through it, a pid reused meanwhile by another process is never read
// (its entries fail once the process is gone).
type proc struct {
	pid int
	dir int
}

// unitProcs maps each l4d2@ unit to the processes in its cgroup, each
// with its /proc directory open; close them with closeProcs. An error
// means the processes could not all be found: the caller says so, since
// the held files of a server not found would go uncounted.
func unitProcs(procRoot string) (map[string][]proc, error) {
	byUnit := map[string][]proc{}
	root, err := unix.Open(procRoot, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return byUnit, fmt.Errorf("servers' processes: open %s: %w", procRoot, err)
	}
	defer unix.Close(root)
	names, err := fsat.ReadDirNames(root)
	if err != nil {
		return byUnit, fmt.Errorf("servers' processes: list %s: %w", procRoot, err)
	}
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		dir, err := unix.Openat(root, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone meanwhile
		}
		if u := cgroupUnit(dir); u != "" {
			byUnit[u] = append(byUnit[u], proc{pid: pid, dir: dir})
		} else {
			unix.Close(dir)
		}
	}
	return byUnit, nil
}

func closeProcs(byUnit map[string][]proc) {
	for _, ps := range byUnit {
		for _, p := range ps {
			unix.Close(p.dir)
		}
	}
}

// cgroupUnit is the l4d2@ unit whose cgroup holds the process of the open
// /proc directory, or "".
func cgroupUnit(dir int) string {
	f, err := openAt(dir, "cgroup")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, path, _ := strings.Cut(sc.Text(), ":")
		_, path, _ = strings.Cut(path, ":")
		if u := unitOf(path); u != "" {
			return u
		}
	}
	return ""
}

// unitOf is the l4d2@ unit the cgroup path is, or is below, or "".
func unitOf(path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, part := range parts {
		if strings.HasPrefix(part, "l4d2@") && strings.HasSuffix(part, ".service") {
			return part
		}
		if !strings.HasSuffix(part, ".slice") || i == len(parts)-1 {
			return ""
		}
	}
	return ""
}

func openAt(dir int, name string) (*os.File, error) {
	fd, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// deletedOpen is what the processes ps hold in regular files they deleted
// but keep open or mapped: no walk of a tree sees those, yet they fill the
// disk until closed. Every thread's descriptor table and memory counts (a
// thread may have its own table, unshare(CLONE_FILES), and a process whose
// first thread exited shows none at /proc/PID), each distinct one once
// (kcmp(2)), and each file once. Only what the server unlinked counts
// (the kernel's " (deleted)" on the link): a layer's file removed on the
// host beneath an open one is the operator's, not the server's. Memory
// that looks like a file is left out by its name: a memfd ("/memfd:"),
// System V and POSIX shared memory ("/SYSV", "/dev/shm/"). A descriptor
// in flight in a unix socket's queue is in no table: not counted.
func deletedOpen(ps []proc) (int64, error) {
	type id struct{ dev, ino uint64 }
	seen := map[id]bool{}
	var total int64
	entries := 0
	count := func(st *unix.Stat_t) {
		if k := (id{st.Dev, st.Ino}); !seen[k] {
			seen[k] = true
			total += st.Blocks * 512
		}
	}
	var files, mms []int // a tid per distinct table and memory seen
	for _, p := range ps {
		tasks, err := unix.Openat(p.dir, "task", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone meanwhile
		}
		var tids []string
		_ = fsat.EachName(tasks, func(n string) { tids = append(tids, n) })
		for _, t := range tids {
			tid, err := strconv.Atoi(t)
			if err != nil {
				continue
			}
			task, err := unix.Openat(tasks, t, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			if !shared(tid, files, kcmpFiles) {
				files = append(files, tid)
				n, err := heldFiles(task, count, maxHeldEntries-entries)
				entries += n
				if err != nil {
					unix.Close(task)
					unix.Close(tasks)
					return 0, err
				}
			}
			if !shared(tid, mms, kcmpVM) {
				mms = append(mms, tid)
				n, err := heldMappings(task, p.dir, tid, count, maxHeldEntries-entries)
				entries += n
				if err != nil {
					unix.Close(task)
					unix.Close(tasks)
					return 0, err
				}
			}
			unix.Close(task)
		}
		unix.Close(tasks)
	}
	return total, nil
}

// kcmp(2)'s types (include/uapi/linux/kcmp.h): the memory, the
// descriptor table.
const (
	kcmpVM    = 1
	kcmpFiles = 2
)

// shared tells whether task tid shares its descriptor table or memory
// (what) with one of seen, by kcmp(2), which takes thread ids as well.
// Unsure means not shared: the table is read again, its files counted
// once anyway.
func shared(tid int, seen []int, what int) bool {
	for _, s := range seen {
		if r, _, errno := unix.Syscall6(unix.SYS_KCMP, uintptr(tid), uintptr(s), uintptr(what), 0, 0, 0); errno == 0 && r == 0 {
			return true
		}
	}
	return false
}

// heldFiles counts the deleted regular files in the open task's fd
// directory, looking at up to limit entries.
func heldFiles(task int, count func(*unix.Stat_t), limit int) (int, error) {
	fds, err := unix.Openat(task, "fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, nil // gone meanwhile
	}
	defer unix.Close(fds)
	n := 0
	var tooMany bool
	err = fsat.EachName(fds, func(name string) {
		if n++; n > limit {
			tooMany = true
			return
		}
		var st unix.Stat_t
		// The link leads to the open file itself, wherever it is; stat and
		// readlink only read about it.
		if unix.Fstatat(fds, name, &st, 0) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 0 {
			return
		}
		buf := make([]byte, 4096)
		k, err := unix.Readlinkat(fds, name, buf)
		if err != nil || !serverDeleted(string(buf[:k])) {
			return
		}
		count(&st)
	})
	if tooMany {
		return n, fmt.Errorf("%w: more than %d descriptors and mappings", ErrTooManyHeld, maxHeldEntries)
	}
	return n, err
}

// heldMappings counts the deleted files the open task's memory maps
// (maps' lines, then map_files to stat them), looking at up to limit.
// map_files is not in a task's directory, only at /proc/TID (found from
// procDir, its process's): a thread's own, even when the process's first
// thread has exited and /proc/PID shows no memory.
func heldMappings(task, procDir, tid int, count func(*unix.Stat_t), limit int) (int, error) {
	f, err := openAt(task, "maps")
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	files, err := unix.Openat(procDir, "../"+strconv.Itoa(tid)+"/map_files", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, nil
	}
	defer unix.Close(files)
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		if n++; n > limit {
			return n, fmt.Errorf("%w: more than %d descriptors and mappings", ErrTooManyHeld, maxHeldEntries)
		}
		line := sc.Text()
		// START-END PERMS OFFSET DEV INODE PATH
		fields := strings.SplitN(line, " ", 6)
		if len(fields) < 6 || !serverDeleted(strings.TrimLeft(fields[5], " ")) {
			continue
		}
		var st unix.Stat_t
		if unix.Fstatat(files, fields[0], &st, 0) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 0 {
			continue
		}
		count(&st)
	}
	return n, nil
}

// serverDeleted tells, by the name the kernel gives an open file, whether
// it is a file the process's side unlinked and not memory.
func serverDeleted(name string) bool {
	return strings.HasSuffix(name, " (deleted)") && !strings.HasPrefix(name, "/memfd:") &&
		!strings.HasPrefix(name, "/SYSV") && !strings.HasPrefix(name, "/dev/shm/")
}
