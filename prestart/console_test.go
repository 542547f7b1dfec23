package prestart

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// StoreNotify hands the manager a socket connected to the manager's own,
// named for the relay and never polled away, after removing an earlier
// start's; what is sent over it reaches the manager.
func TestStoreNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	manager, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer manager.Close()
	if err := StoreNotify(path); err != nil {
		t.Fatal(err)
	}
	manager.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf, oob := make([]byte, 256), make([]byte, 256)
	n, _, _, _, err := manager.ReadMsgUnix(buf, oob)
	if err != nil || string(buf[:n]) != "FDSTOREREMOVE=1\nFDNAME=notify" {
		t.Fatalf("first message %q, %v", buf[:n], err)
	}
	n, oobn, _, _, err := manager.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Split(string(buf[:n]), "\n")
	for _, want := range []string{"FDSTORE=1", "FDPOLL=0", "FDNAME=notify"} {
		if !strings.Contains("\n"+string(buf[:n])+"\n", "\n"+want+"\n") {
			t.Errorf("second message %q lacks %s", msg, want)
		}
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		t.Fatalf("control messages: %v, %v", msgs, err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		t.Fatalf("descriptors: %v, %v", fds, err)
	}
	f := os.NewFile(uintptr(fds[0]), "stored")
	defer f.Close()
	if _, err := f.Write([]byte("READY=1")); err != nil {
		t.Fatalf("send over the stored socket: %v", err)
	}
	if n, err := manager.Read(buf); err != nil || string(buf[:n]) != "READY=1" {
		t.Errorf("the manager got %q, %v; want READY=1", buf[:n], err)
	}
}

func TestStoreNotifyErrors(t *testing.T) {
	if err := StoreNotify(""); !errors.Is(err, errNoNotifySocket) {
		t.Errorf("no socket: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "gone")
	if err := StoreNotify(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("a socket that is not there: %v, want an error naming %s", err, missing)
	}
}

// RecordStop leaves the run in runtime/NAME/stopped, root's, replacing an
// earlier one; a name never started has none, a bad run is refused, and a
// link in place of runtime/NAME is not followed.
func TestRecordStop(t *testing.T) {
	root := t.TempDir()
	c := Config{Layout: layout.Layout{ConfigDir: filepath.Join(root, "etc"), Root: root}}
	d := rundir.Of(c.Layout, "a")
	if err := RecordStop(c, "a", "0123456789abcdef0123456789abcdef"); err != nil || d.ReadStopped() != "" {
		t.Fatalf("never started: %v, %q", err, d.ReadStopped())
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"} {
		if err := RecordStop(c, "a", run); err != nil || d.ReadStopped() != run {
			t.Errorf("RecordStop(%s): %v; read %q", run, err, d.ReadStopped())
		}
	}
	for _, bad := range []string{"", "../x", "a\nb", "0123456789abcdef0123456789abcdeg"} {
		if err := RecordStop(c, "a", bad); err == nil {
			t.Errorf("RecordStop(%q) passed", bad)
		}
	}
	if err := RecordStop(c, "../a", "00000000000000000000000000000003"); err == nil {
		t.Error("a bad name passed")
	}
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(c.Layout.RuntimeRoot(), "b")); err != nil {
		t.Fatal(err)
	}
	if err := RecordStop(c, "b", "00000000000000000000000000000004"); err == nil {
		t.Error("a link in place of runtime/b was followed")
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Errorf("wrote through the link: %v", ents)
	}
}
