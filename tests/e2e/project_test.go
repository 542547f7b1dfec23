package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/left4me/left4me/tests/install"
	"github.com/left4me/left4me/tests/treetest"
)

// repoRoot is the checkout the tests run from (go test runs in tests/e2e).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// buildOnce builds the binaries and the stand-in server once per test binary.
var buildOnce = sync.OnceValue(func() error {
	cmd := exec.Command("make", "build", "standin")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make build standin: %v\n%s", err, out)
	}
	return nil
})

// installProject is an Options.Install: the project as `make install` puts
// it on a host.
func installProject(t *testing.T) func(root string) error {
	return func(root string) error {
		if err := buildOnce(); err != nil {
			return err
		}
		return install.Project(root, repoRoot(t))
	}
}

// writeFiles creates files below dir; a value of the form "->TARGET" makes
// a symlink instead.
func writeFiles(dir string, files map[string]string) error {
	return treetest.Write(dir, files)
}

// installGame puts the stand-in server at the top of a fake installation.
func installGame(t *testing.T, state string) {
	t.Helper()
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	installStandin(t, filepath.Join(state, "installation"))
}

// installStandin puts the stand-in server into dir as the game ships it:
// the script srcds_run, the 32-bit engine srcds_linux and, standing in for
// Valve's libraries, a dummy bin/libtier0_srv.so, without which the engine
// does not start (it looks for it through srcds_run's LD_LIBRARY_PATH).
func installStandin(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []struct {
		src, dst string
		mode     os.FileMode
	}{
		{"srcds_run", "srcds_run", 0o755},
		{"srcds_linux", "srcds_linux", 0o755},
		{"", "bin/libtier0_srv.so", 0o644},
	} {
		data := []byte("stand-in for Valve's libtier0_srv.so\n")
		if f.src != "" {
			var err error
			if data, err = os.ReadFile(filepath.Join(repoRoot(t), "build", f.src)); err != nil {
				t.Fatal(err)
			}
		}
		dst := filepath.Join(dir, f.dst)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
}
