package ovbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runHelpers runs a builder script with the helpers, as the build unit
// does (sh -eu helpers.sh, which sources $BUILDER), in a scratch layer.
func runHelpers(t *testing.T, builder string) (layer, out string, err error) {
	t.Helper()
	dir := t.TempDir()
	layer, scratch := filepath.Join(dir, "layer"), filepath.Join(dir, "scratch")
	for _, d := range []string{layer, scratch} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hp, bp := filepath.Join(dir, "helpers.sh"), filepath.Join(dir, "b.sh")
	if err := os.WriteFile(hp, []byte(helpers), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bp, []byte(builder), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-eu", hp)
	cmd.Env = append(os.Environ(), "LAYER="+layer, "SCRATCH="+scratch, "HOME="+scratch, "BUILDER="+bp)
	b, err := cmd.CombinedOutput()
	return layer, string(b), err
}

func TestCfgHelper(t *testing.T) {
	layer, out, err := runHelpers(t, "echo 'sm_x 1' | cfg sourcemod/extra.cfg\necho 'hostname a' | server_cfg\n")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for p, want := range map[string]string{"left4dead2/cfg/sourcemod/extra.cfg": "sm_x 1\n", "left4dead2/cfg/server.cfg": "hostname a\n"} {
		if b, err := os.ReadFile(filepath.Join(layer, p)); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q", p, b, err, want)
		}
	}
	for _, bad := range []string{"../x.cfg", "/etc/x.cfg", "a/../../x.cfg", "", "a//b.cfg"} {
		_, out, err := runHelpers(t, "echo x | cfg '"+bad+"'\n")
		if err == nil || !strings.Contains(out, "want a relative path below cfg/") {
			t.Errorf("cfg %q: %v\n%s", bad, err, out)
		}
	}
}
