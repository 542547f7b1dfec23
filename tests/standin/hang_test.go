package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// The env file sets players and a hang: the server answers with 3 players,
// then goes silent while its process lives on.
func TestStandinEnvFileHang(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "left4dead2", "cfg")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		t.Fatal(err)
	}
	env := "STANDIN_PLAYERS=3\nSTANDIN_HANG_AFTER=1s\n"
	if err := os.WriteFile(filepath.Join(cfg, "standin.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	s := startStandin(t, dir, nil, "-game", "left4dead2", "-port", strconv.Itoa(int(port)))
	s.waitLine(t, "standin: listening")
	addr := "127.0.0.1:" + strconv.Itoa(int(port))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	info, err := a2s.Query(ctx, addr)
	cancel()
	if err != nil || info.Players != 3 {
		t.Fatalf("before the hang: %+v %v", info, err)
	}
	s.waitLine(t, "standin: hanging now")
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := a2s.Query(ctx, addr); err == nil {
		t.Fatal("answered while hanging")
	}
	if s.cmd.ProcessState != nil {
		t.Fatal("process exited while hanging")
	}
}
