package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
		cmd := exec.Command("make", "install", "DESTDIR="+root, "PREFIX=/usr")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("make install: %v\n%s", err, out)
		}
		// What a package's postinst does; at boot systemd-sysusers.service
		// only runs after an update of /usr (ConditionNeedsUpdate=/etc).
		out, err := exec.Command("systemd-sysusers", "--root="+root,
			filepath.Join(root, "usr/lib/sysusers.d/left4me.conf"), filepath.Join(root, "usr/lib/sysusers.d/left4me-build.conf")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("systemd-sysusers: %v\n%s", err, out)
		}
		return nil
	}
}

// writeFiles creates files below dir; a value of the form "->TARGET" makes
// a symlink instead.
func writeFiles(dir string, files map[string]string) error {
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if target, ok := strings.CutPrefix(body, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// installGame puts the stand-in server at the top of a fake installation.
func installGame(t *testing.T, state string) {
	t.Helper()
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(filepath.Join(repoRoot(t), "build", "srcds_run"))
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(state, "installation", "srcds_run")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, bin, 0o755); err != nil {
		t.Fatal(err)
	}
}
