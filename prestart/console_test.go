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
