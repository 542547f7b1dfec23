package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/left4me/left4me/tests/testroot"
)

// TestReadmeSteamcmdInstall runs the README's steamcmd install lines, as
// written, on a throwaway overlay of / in a private mount namespace: apt
// needs the host's network, which the systemd containers do not have.
// It needs Debian's mirrors (CI has them); sudo is a no-op as we are root.
func TestReadmeSteamcmdInstall(t *testing.T) {
	testroot.Require(t, "installs packages")
	if _, err := os.Stat("/etc/apt/sources.list.d/debian.sources"); err != nil {
		t.Skipf("the lines are for Debian 12's deb822 sources: %v", err)
	}
	lines := readmeBlock(t, "sudo sed -i", "sudo apt-get install steamcmd")
	base := t.TempDir()
	// The outer script makes the scratch root; the inner one is the
	// README's text. apt-get's "Do you want to continue?" gets the y an
	// operator would type.
	setup := `set -eu
mount --make-rprivate /
mount -t tmpfs scratch "$1"
cd "$1"; mkdir upper work root
mount -t overlay overlay -o lowerdir=/,upperdir=upper,workdir=work root
mount -t proc proc root/proc
mount --rbind /dev root/dev
mount --rbind /sys root/sys
mount -t tmpfs tmp root/tmp
# Only the first stanza (the main archive, where steamcmd is): this
# host's security mirror has served i386 indexes mid-sync ("File has
# unexpected size"), which fails apt-get update whatever the README says.
awk 'NF == 0 { exit } { print }' /etc/apt/sources.list.d/debian.sources >root/etc/apt/sources.list.d/debian.sources
exec chroot root /bin/sh -euc "$2"
`
	script := "sudo() { \"$@\"; }\n" + strings.Join(lines, "\n") + `
dpkg-query -W -f '${Status}\n' steamcmd
test -x /usr/games/steamcmd
`
	cmd := exec.Command("unshare", "--mount", "--", "/bin/sh", "-c", setup, "sh", base, script)
	// Without the README's preseed lines steamcmd's preinst declines the
	// licence and dpkg fails: checked by deleting them.
	cmd.Stdin = strings.NewReader(strings.Repeat("y\n", 5))
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	t.Log(tail(string(out), 12))
	if err != nil {
		t.Fatalf("the README's steamcmd install lines failed: %v\n%s", err, tail(string(out), 40))
	}
	if !strings.Contains(string(out), "install ok installed") {
		t.Errorf("steamcmd is not installed:\n%s", tail(string(out), 40))
	}
}

// readmeBlock returns the README's indented lines from the one starting
// with first through the one starting with last.
func readmeBlock(t *testing.T, first, last string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimPrefix(l, "    ")
		if len(lines) == 0 && !strings.HasPrefix(l, first) {
			continue
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, last) {
			return lines
		}
	}
	t.Fatalf("README.md has no block from %q to %q", first, last)
	return nil
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}
