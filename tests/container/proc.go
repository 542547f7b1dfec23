package container

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procStatus returns the fields of /proc/PID/status.
func procStatus(pid int) map[string][]string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	m := map[string][]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = strings.Fields(v)
		}
	}
	return m
}

// pids lists the numeric entries of /proc.
func pids() []int {
	ents, _ := os.ReadDir("/proc")
	var ps []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			ps = append(ps, n)
		}
	}
	return ps
}

// findInit returns the host PID of the container's systemd: the child of
// nspawn that is PID 1 in its own PID namespace and has exec'd systemd.
func findInit(nspawn int) int {
	for _, pid := range pids() {
		st := procStatus(pid)
		ppid, nspid := st["PPid"], st["NSpid"]
		if len(ppid) != 1 || ppid[0] != strconv.Itoa(nspawn) || len(nspid) < 2 || nspid[len(nspid)-1] != "1" {
			continue
		}
		if name := st["Name"]; len(name) == 1 && name[0] == "systemd" {
			return pid
		}
	}
	return 0
}

// killGroupBut SIGKILLs every process of process group pgid except the
// leader (nsenter): killed too, it would leave the command's zombie with a
// dead parent outside the container, where nothing may reap it.
func killGroupBut(pgid int) (killed int) {
	for _, pid := range pids() {
		if pid == pgid {
			continue
		}
		if g, err := unix.Getpgid(pid); err == nil && g == pgid {
			unix.Kill(pid, unix.SIGKILL)
			killed++
		}
	}
	return killed
}
