package game

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/console"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/tests/treetest"
)

// steamclient.so goes where l4d2@.service looks (HOME is the state root),
// not to the server user's passwd home, which may be elsewhere.
func TestSteamclientWhereTheUnitLooks(t *testing.T) {
	out := &bytes.Buffer{}
	te := newEnv(t, out)
	home := t.TempDir()
	if err := treetest.Write(home, map[string]string{".steam/steamcmd/linux32/steamclient.so": "lib"}); err != nil {
		t.Fatal(err)
	}
	te.FixSteamclient(steamcmd.Config{Home: home, Path: filepath.Join(t.TempDir(), "steamcmd.sh")})
	if data, err := os.ReadFile(filepath.Join(te.Layout.Root, ".steam/sdk32/steamclient.so")); err != nil || string(data) != "lib" {
		t.Fatalf("steamclient.so: %q %v\n%s", data, err, out)
	}
}

func newEnv(t *testing.T, out io.Writer) *Env {
	return &Env{Env: &dayops.Env{Env: &unitctl.Env{Env: &console.Env{Env: &clienv.Env{
		Layout: layout.Layout{Root: t.TempDir()},
		Stdout: out, Stderr: out,
	}}}}}
}
