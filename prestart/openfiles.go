package prestart

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// unitProcs maps each l4d2@ unit to the processes in its cgroup, read from
// proc's PID/cgroup files (cgroup v1 and v2 alike: a line's path names the
// unit). A server cannot leave its cgroup (ProtectControlGroups=).
func unitProcs(proc string) map[string][]int {
	byUnit := map[string][]int{}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return byUnit
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, err := os.Open(filepath.Join(proc, e.Name(), "cgroup"))
		if err != nil {
			continue // gone meanwhile
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			_, path, _ := strings.Cut(sc.Text(), ":")
			_, path, _ = strings.Cut(path, ":")
			if u := unitOf(path); u != "" {
				byUnit[u] = append(byUnit[u], pid)
				break
			}
		}
		f.Close()
	}
	return byUnit
}

// unitOf is the l4d2@ unit a cgroup path names, or "".
func unitOf(path string) string {
	for _, part := range strings.Split(path, "/") {
		if strings.HasPrefix(part, "l4d2@") && strings.HasSuffix(part, ".service") {
			return part
		}
	}
	return ""
}

// deletedOpen is what the processes pids hold in regular files they
// deleted but keep open (no link left): no walk of a tree sees them, yet
// they fill the disk until closed. Memory that looks like such a file is
// left out, by the name the kernel gives it (/proc/PID/fd's link): a
// memfd ("/memfd:NAME"), System V shared memory ("/SYSV…") and POSIX
// shared memory ("/dev/shm/…"). Each file counts once.
func deletedOpen(proc string, pids []int) int64 {
	type id struct{ dev, ino uint64 }
	seen := map[id]bool{}
	var total int64
	for _, pid := range pids {
		dir := filepath.Join(proc, strconv.Itoa(pid), "fd")
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // gone meanwhile
		}
		for _, e := range ents {
			fd := filepath.Join(dir, e.Name())
			var st unix.Stat_t
			// The link leads to the open file itself, wherever it is.
			if unix.Stat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 0 {
				continue
			}
			if name, err := os.Readlink(fd); err != nil || strings.HasPrefix(name, "/memfd:") || strings.HasPrefix(name, "/SYSV") || strings.HasPrefix(name, "/dev/shm/") {
				continue
			}
			if k := (id{st.Dev, st.Ino}); !seen[k] {
				seen[k] = true
				total += st.Blocks * 512
			}
		}
		// A file mapped and closed holds its space as well: the mappings
		// of deleted files, from maps' "(deleted)" lines, through
		// map_files (root's to read).
		for _, r := range deletedMappings(filepath.Join(proc, strconv.Itoa(pid), "maps")) {
			var st unix.Stat_t
			if unix.Stat(filepath.Join(proc, strconv.Itoa(pid), "map_files", r), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 0 {
				continue
			}
			if k := (id{st.Dev, st.Ino}); !seen[k] {
				seen[k] = true
				total += st.Blocks * 512
			}
		}
	}
	return total
}

// deletedMappings are the address ranges ("START-END", as map_files
// names them) of maps' lines for deleted files that are not memory in
// disguise (see deletedOpen).
func deletedMappings(maps string) []string {
	f, err := os.Open(maps)
	if err != nil {
		return nil
	}
	defer f.Close()
	var ranges []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasSuffix(line, " (deleted)") {
			continue
		}
		// START-END PERMS OFFSET DEV INODE PATH (deleted)
		fields := strings.Fields(line)
		if len(fields) < 6 {
			continue
		}
		if path := fields[5]; strings.HasPrefix(path, "/memfd:") || strings.HasPrefix(path, "/SYSV") || strings.HasPrefix(path, "/dev/shm/") {
			continue
		}
		ranges = append(ranges, fields[0])
	}
	return ranges
}
