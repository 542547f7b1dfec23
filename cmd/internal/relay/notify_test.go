package relay

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The child half of TestInherit: systemd's side of sd_listen_fds(3) is
// the environment and descriptors 3 and up, as its parent set them.
func init() {
	if os.Getenv("RELAY_TEST_INHERIT") == "" {
		return
	}
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	passed := map[uint64]bool{}
	for fd := 3; fd < 5; fd++ {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			passed[st.Ino] = true
		}
	}
	l, c, err := Inherit("console", "notify")
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	if l == nil || c == nil {
		problems = append(problems, "console or notify socket not found")
	}
	if len(passed) != 2 {
		problems = append(problems, "descriptors 3 and 4 were not passed")
	}
	// What systemd passed is closed; what replaced it closes at exec.
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		fd, _ := strconv.Atoi(e.Name())
		var st unix.Stat_t
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if fd > 2 && err == nil && flags&unix.FD_CLOEXEC == 0 && unix.Fstat(fd, &st) == nil && passed[st.Ino] {
			problems = append(problems, "descriptor "+e.Name()+" is left for the server")
		}
	}
	if c != nil {
		if err := (Notifier{Conn: c}).Notify("READY=1"); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if l != nil {
		if conn, err := l.Accept(); err != nil {
			problems = append(problems, err.Error())
		} else {
			conn.Close()
		}
	}
	if len(problems) > 0 {
		os.Stderr.WriteString(strings.Join(problems, "\n") + "\n")
		os.Exit(1)
	}
	os.Exit(0)
}

// The relay takes the console's listening socket and its connection to
// systemd's notification socket from what systemd passed, sends its state
// over the latter, and leaves neither descriptor for the server.
func TestInherit(t *testing.T) {
	dir := t.TempDir()
	manager, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer manager.Close()
	stored, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	storedFile, _ := stored.File()
	stored.Close()
	console, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "console.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	console.SetUnlinkOnClose(false)
	consoleFile, _ := console.File()
	console.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// No path for the manager's socket: the stored connection is the way.
	cmd.Env = append(os.Environ(), "RELAY_TEST_INHERIT=1", "LISTEN_FDS=2", "LISTEN_FDNAMES=console:notify", "NOTIFY_SOCKET=")
	cmd.ExtraFiles = []*os.File{consoleFile, storedFile}
	var out strings.Builder
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	consoleFile.Close()
	storedFile.Close()
	manager.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, err := manager.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Errorf("the manager got %q, %v; want READY=1 over the stored connection", buf[:n], err)
	}
	if c, err := net.Dial("unix", filepath.Join(dir, "console.sock")); err != nil {
		t.Errorf("the console socket is not listened on: %v", err)
	} else {
		c.Close()
	}
	time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v\n%s", err, out.String())
	}
}

// Without a stored connection or a NOTIFY_SOCKET, Notify says so.
func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	err := Notifier{}.Notify("READY=1")
	if err == nil || !strings.Contains(err.Error(), "stored no notification socket") {
		t.Errorf("Notify: %v", err)
	}
}
