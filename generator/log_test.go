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
	// One record per message: the kernel rate-limits records, not bytes.
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "<3>left4me-generator[") || !strings.HasSuffix(lines[0], "]: skipping x: | a.yaml:1:7: port: bad") {
		t.Fatalf("kmsg records %q", lines)
	}
	if stderr.String() != "left4me-generator: skipping x:\nleft4me-generator: a.yaml:1:7: port: bad\n" {
		t.Fatalf("stderr %q", stderr.String())
	}
}

// Without /dev/kmsg (a container), each message goes to journald's socket
// as one native protocol datagram at priority err.
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
	for range 1 {
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			t.Fatalf("datagram %d: %v", len(got)+1, err)
		}
		got = append(got, string(buf[:n]))
	}
	want := "PRIORITY=3\nSYSLOG_IDENTIFIER=left4me-generator\nMESSAGE=skipping x: | a.yaml:1:7: port: bad\n"
	if got[0] != want {
		t.Fatalf("datagrams %q", got)
	}
	if _, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT); err == nil {
		t.Fatal("more than one datagram for one message")
	}
	// No socket, no kmsg: stderr only, and no failure.
	NewLog(&stderr, filepath.Join(dir, "no-kmsg"), filepath.Join(dir, "none")).Errorf("quiet")
}

// The kernel keeps 10 records of a writer in 5 s and drops the rest
// silently: past 8, one record says how many more there were.
func TestLogCapsRecords(t *testing.T) {
	kmsg := filepath.Join(t.TempDir(), "kmsg")
	if err := os.WriteFile(kmsg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	l := NewLog(&stderr, kmsg, "")
	for i := range 12 {
		l.Errorf("skipping s%d:\nproblem", i)
	}
	l.Close()
	got, _ := os.ReadFile(kmsg)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != maxRecords+1 || !strings.Contains(lines[maxRecords], "4 more message(s) not logged here") || !strings.Contains(lines[maxRecords], "left4me validate") {
		t.Fatalf("records %q", lines)
	}
	if strings.Count(stderr.String(), "skipping s") != 12 {
		t.Errorf("stderr lost messages:\n%s", stderr.String())
	}
}
