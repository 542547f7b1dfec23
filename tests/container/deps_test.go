package container

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tests/deps.sh, the one list of what the tests need: without root on a
// host that lacks everything, it names the one command that installs it.
func TestDepsNamesTheCommand(t *testing.T) {
	// python3-apt, found by its path, may be in between.
	out, err := runDeps(t)
	want := []string{"install them with: sudo apt-get install -y ansible-core chromium dbus dpkg iproute2 make needrestart openssh-client openssh-server ",
		" systemd systemd-container util-linux \n"}
	if err != nil || !strings.Contains(out, want[0]) || !strings.Contains(out, want[1]) {
		t.Fatalf("%v:\n%s", err, out)
	}
	// make demo needs no Ansible, sshd or dpkg.
	out, err = runDeps(t, "demo")
	if want := "install them with: sudo apt-get install -y make systemd systemd-container util-linux \n"; err != nil || !strings.Contains(out, want) {
		t.Fatalf("deps.sh demo: %v:\n%s\nwant %q", err, out, want)
	}
}

// runDeps runs deps.sh as a user on a host that lacks everything.
func runDeps(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := t.TempDir()
	for _, tool := range []string{"sh", "sort", "tr"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skip(tool + " not installed")
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "id"), []byte("#!/bin/sh\necho 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "sh"), append([]string{"../deps.sh"}, args...)...)
	cmd.Env = []string{"PATH=" + bin}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
