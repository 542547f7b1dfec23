package commands

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// A relay that refuses writes why and closes before reading: the command
// written after that close fails with EPIPE, and send must still report
// the refusal, not "broken pipe" (seen in the e2e test on a clean clone).
func TestSendRefusedAfterClose(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	dir := t.TempDir()
	mkdirs(t, filepath.Join(dir, "srv1"))
	l, err := net.Listen("unix", filepath.Join(dir, "srv1", "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		conn, err := l.Accept()
		if err != nil {
			return
		}
		fmt.Fprintln(conn, "left4me: refused: for root and members of left4me-admin only")
		conn.Close()
	}()
	te.ConsoleDir = dir
	conn, err := te.consoleDial("srv1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	<-closed
	// The close reaches us before our write: the write surely fails.
	err = te.sendOn(context.Background(), conn, "srv1", "status", 200*time.Millisecond)
	if !errors.Is(err, fail.ErrPermission) || !strings.Contains(err.Error(), "left4me-admin only") {
		t.Fatalf("got %v, want the relay's refusal", err)
	}
}
