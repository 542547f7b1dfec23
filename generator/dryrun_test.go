package generator

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
	"github.com/left4me/left4me/units"
)

// DryRun (left4me render) gives the bytes Run writes, and refuses what Run
// skips: a port an older spec claimed first.
func TestDryRunIsRun(t *testing.T) {
	cfg := t.TempDir()
	l := layout.Layout{ConfigDir: cfg, Root: "/r"}
	if err := os.MkdirAll(l.InstancesDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(l.SpecPath(name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", "port: 27015\nautostart: true\nconfig:\n  - hostname a\n")
	write("b", "port: 27015\n")
	write("c", "port: 27115\narguments: [+map, c1m1_hotel]\n")
	c := units.Config{Layout: l, HelperDir: "/h"}
	out := t.TempDir()
	c.PlanDir = out // as Run sets it
	res, err := Run(c, out)
	if err != nil || len(res.Skipped) != 1 || res.Skipped[0].Name != "b" {
		t.Fatalf("Run: %+v %v", res, err)
	}
	for _, name := range []string{"a", "c"} {
		_, f, err := DryRun(c, name)
		if err != nil {
			t.Fatalf("DryRun %s: %v", name, err)
		}
		dir := filepath.Join(out, units.Instance(name)+".d")
		for file, want := range map[string][]byte{units.DropIn: f.DropIn, startplan.FileName: f.Plan} {
			got, err := os.ReadFile(filepath.Join(dir, file))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: Run wrote %q (%v), DryRun gives %q", file, got, err, want)
			}
		}
		_, err = os.Lstat(filepath.Join(out, units.Target+".wants", units.Instance(name)))
		if f.Autostart != (err == nil) {
			t.Errorf("%s: autostart %v, wants link: %v", name, f.Autostart, err)
		}
	}
	if _, _, err := DryRun(c, "b"); err == nil || !strings.Contains(err.Error(), `is already used by instance "a"`) {
		t.Errorf("DryRun b: %v", err)
	}
}
