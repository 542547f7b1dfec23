package generator

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLogKmsg(t *testing.T) {
	kmsg := filepath.Join(t.TempDir(), "kmsg")
	if err := os.WriteFile(kmsg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	l := NewLog(&stderr, kmsg, "")
	l.Errorf("skipping x:\n%s", "a.yaml:1:7: port: bad")
	l.Close()
	got, _ := os.ReadFile(kmsg)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "<3>left4me-generator[") || !strings.HasSuffix(lines[1], "]: a.yaml:1:7: port: bad") {
		t.Fatalf("kmsg records %q", lines)
	}
	if stderr.String() != "left4me-generator: skipping x:\nleft4me-generator: a.yaml:1:7: port: bad\n" {
		t.Fatalf("stderr %q", stderr.String())
	}
}

// Without /dev/kmsg (a container), each line goes to journald's socket as a
// native protocol datagram at priority err.
func TestLogJournal(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "socket")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	l := NewLog(&stderr, filepath.Join(dir, "no-kmsg"), sock)
	l.Errorf("skipping x:\n%s", "a.yaml:1:7: port: bad")
	l.Close()
	var got []string
	buf := make([]byte, 4096)
	for range 2 {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			t.Fatalf("datagram %d: %v", len(got)+1, err)
		}
		got = append(got, string(buf[:n]))
	}
	want := "PRIORITY=3\nSYSLOG_IDENTIFIER=left4me-generator\nMESSAGE=a.yaml:1:7: port: bad\n"
	if got[1] != want || !strings.HasSuffix(got[0], "MESSAGE=skipping x:\n") {
		t.Fatalf("datagrams %q", got)
	}
	// No socket, no kmsg: stderr only, and no failure.
	NewLog(&stderr, filepath.Join(dir, "no-kmsg"), filepath.Join(dir, "none")).Errorf("quiet")
}
