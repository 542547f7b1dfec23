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
	cmd := exec.Command(filepath.Join(bin, "sh"), "../deps.sh")
	cmd.Env = []string{"PATH=" + bin}
	out, err := cmd.CombinedOutput()
	// python3-apt, found by its path, may be in between.
	want := []string{"install them with: sudo apt-get install -y ansible-core dpkg iproute2 make openssh-client openssh-server ",
		" systemd systemd-container util-linux \n"}
	if err != nil || !strings.Contains(string(out), want[0]) || !strings.Contains(string(out), want[1]) {
		t.Fatalf("%v:\n%s", err, out)
	}
}
