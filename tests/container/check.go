package container

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Problem is a missing prerequisite and how to get it.
type Problem struct {
	What, Fix string
}

// Check lists what this host lacks to boot a container, each with the
// command that fixes it, instead of an obscure failure halfway. rerun is
// the command to repeat as root (e.g. "make demo"), prefix the one of
// Options, for the probe mount.
func Check(prefix, rerun string) []Problem {
	if runtime.GOOS != "linux" {
		return []Problem{{"Linux (this is " + runtime.GOOS + ")", "run it on a Linux host or VM"}}
	}
	var ps []Problem
	if os.Geteuid() != 0 {
		// sudo resets PATH, which usually loses the Go toolchain.
		ps = append(ps, Problem{"root (it mounts overlays and boots a container)", `run as root: sudo env "PATH=$PATH" ` + rerun})
	}
	for _, t := range []struct{ bin, pkg string }{
		{"systemd-nspawn", "systemd-container"},
		{"nsenter", "util-linux"},
		{"systemctl", "systemd"},
		{"journalctl", "systemd"},
	} {
		if _, err := exec.LookPath(t.bin); err != nil {
			ps = append(ps, Problem{t.bin, "apt-get install " + t.pkg})
		}
	}
	if !exists("/lib/systemd/systemd") && !exists("/usr/lib/systemd/systemd") {
		ps = append(ps, Problem{"systemd (the container boots the host's own)", "apt-get install systemd"})
	}
	if os.Geteuid() == 0 { // mounting needs root; do not report it twice
		if err := probeOverlay(prefix); err != nil {
			ps = append(ps, overlayProblem(err))
		}
	}
	return ps
}

// overlayProblem tells an absent module from a / that overlayfs cannot
// use (typically: we are inside a Docker container ourselves).
func overlayProblem(err error) Problem {
	fs, _ := os.ReadFile("/proc/filesystems")
	if !strings.Contains(string(fs), "\toverlay\n") {
		return Problem{"overlayfs (" + err.Error() + ")", "modprobe overlay"}
	}
	return Problem{"an overlay of / (" + err.Error() + ")", "run on a VM or bare-metal host, not inside a container"}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
