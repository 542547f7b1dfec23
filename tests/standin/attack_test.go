package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// "ports N": a process of its own session holds N bound UDP sockets.
func TestTakePorts(t *testing.T) {
	pid, err := takePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
	}()
	if sid, _ := unix.Getsid(pid); sid != pid {
		t.Errorf("session %d, want its own (%d)", sid, pid)
	}
	sockets := 0
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		ents, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
		sockets = 0
		for _, e := range ents {
			if l, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + e.Name()); strings.HasPrefix(l, "socket:") {
				sockets++
			}
		}
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); strings.TrimSpace(string(b)) == "sleep" {
			break
		}
	}
	if sockets != 5 {
		t.Errorf("it holds %d sockets, want 5", sockets)
	}
}
