package generator

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
	"github.com/left4me/left4me/tests/unitverify"
	"github.com/left4me/left4me/units"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture lays out the specs of every case in testdata/cases as one config
// dir (the cases use distinct names and ports, but for the clash they test).
func fixture(t *testing.T) units.Config {
	t.Helper()
	cases, err := os.ReadDir(filepath.Join("testdata", "cases"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, c := range cases {
		if c.IsDir() {
			dirs = append(dirs, filepath.Join("testdata", "cases", c.Name()))
		}
	}
	return fixtureOf(t, dirs...)
}

// fixtureOf lays out the specs in dirs as a config dir, all of one age so
// that name order breaks a port tie (spec.ClaimPorts), with fixed paths
// elsewhere so the golden files stay stable (nothing is written there).
func fixtureOf(t *testing.T, dirs ...string) units.Config {
	t.Helper()
	cfg := t.TempDir()
	inst := filepath.Join(cfg, "instances")
	if err := os.MkdirAll(inst, 0o755); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			data, err := os.ReadFile(filepath.Join(d, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(inst, e.Name())
			if e.Name() == spec.LimitsFile {
				if len(dirs) > 1 {
					continue // one case's ceilings are not the others'
				}
				p = filepath.Join(cfg, e.Name())
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, when, when); err != nil {
				t.Fatal(err)
			}
		}
	}
	return units.Config{
		Layout:    layout.Layout{ConfigDir: cfg, Root: "/var/lib/left4me"},
		HelperDir: "/usr/lib/left4me",
	}
}

// dump renders an output tree as text: files with their content, links
// with their target, in path order.
func dump(t *testing.T, dir string, skip ...string) string {
	t.Helper()
	var lines []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if slices.Contains(skip, rel) {
			return nil
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			lines = append(lines, "== "+rel+" -> "+target+"\n")
			return err
		}
		data, err := os.ReadFile(p)
		mode := ""
		if fi.Mode().Perm() != 0o644 {
			mode = " (mode " + fi.Mode().Perm().String() + ")"
		}
		lines = append(lines, "== "+rel+mode+"\n"+string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "")
}

// TestGolden runs the generator on each case of testdata/cases (a
// directory of specs) and compares what it writes for those instances with
// testdata/cases/CASE.golden; the template and target, the same for every
// case, are compared once with testdata/template.golden. A failing case
// names itself. go test ./generator -update rewrites the golden files.
func TestGolden(t *testing.T) {
	out, _ := generate(t, fixtureOf(t))
	checkGolden(t, filepath.Join("testdata", "template.golden"), out)
	common := []string{units.Template, units.Target, "multi-user.target.wants/" + units.Target}
	cases, err := os.ReadDir(filepath.Join("testdata", "cases"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !c.IsDir() {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			cfg := fixtureOf(t, filepath.Join("testdata", "cases", c.Name()))
			got, res := generate(t, cfg, common...)
			got += "== result\ninstances: " + strings.Join(res.Instances, " ") + "\nautostart: " + strings.Join(res.Autostart, " ") + "\n== skipped\n"
			for _, sk := range res.Skipped {
				got += sk.Name + ": " + strings.ReplaceAll(sk.Err.Error(), cfg.Layout.ConfigDir, "/CONFIG") + "\n"
			}
			checkGolden(t, filepath.Join("testdata", "cases", c.Name()+".golden"), got)
		})
	}
}

// generate runs the generator and dumps its output, paths made stable.
func generate(t *testing.T, c units.Config, skip ...string) (string, Result) {
	t.Helper()
	out := t.TempDir()
	res, err := Run(c, out)
	if err != nil {
		t.Fatal(err)
	}
	got := dump(t, out, skip...)
	got = strings.ReplaceAll(got, c.Layout.ConfigDir, "/CONFIG")
	return strings.ReplaceAll(got, out, "/OUT"), res
}

func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("output differs from %s (run go test ./generator -update):\n%s", golden, got)
	}
}

func TestUnwritableOutput(t *testing.T) {
	c := fixture(t)
	out := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(c, out); err == nil || !strings.Contains(err.Error(), "output directory "+out) {
		t.Fatalf("got %v", err)
	}
}

func TestMissingSpecDir(t *testing.T) {
	c := units.Config{Layout: layout.Layout{ConfigDir: t.TempDir(), Root: "/r"}, HelperDir: "/h"}
	out := t.TempDir()
	res, err := Run(c, out)
	if err != nil || len(res.Skipped) != 0 || len(res.Instances) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(out, units.Template)); err != nil {
		t.Fatal(err)
	}
}

// TestSystemdVerify runs systemd-analyze verify on the generated units: it
// parses them exactly as systemd will and reports unknown keys on stderr.
func TestSystemdVerify(t *testing.T) {
	unitverify.Need(t)
	c := fixture(t)
	// verify checks that executables exist: give it a root and helper dir
	// that hold stand-ins.
	c.Layout.Root = t.TempDir()
	c.HelperDir = t.TempDir()
	unitverify.Executables(t,
		filepath.Join(c.HelperDir, "left4me-prestart"), filepath.Join(c.HelperDir, "left4me-poststop"), filepath.Join(c.HelperDir, "left4me-relay"),
		filepath.Join(c.Layout.MergedDir("srv1"), "srcds_linux"), filepath.Join(c.Layout.MergedDir("srv2"), "srcds_linux"),
		filepath.Join(c.Layout.MergedDir("sched"), "srcds_linux"), filepath.Join(c.HelperDir, "left4me"),
	)
	out := t.TempDir()
	if _, err := Run(c, out); err != nil {
		t.Fatal(err)
	}
	// The schedule's timers start the static templates (units/).
	for _, u := range []string{"left4me-restart@.service", "left4me-backup@.service"} {
		text, err := os.ReadFile(filepath.Join("..", "units", u))
		if err != nil {
			t.Fatal(err)
		}
		text = []byte(strings.ReplaceAll(string(text), "/usr/bin/left4me", filepath.Join(c.HelperDir, "left4me")))
		if err := os.WriteFile(filepath.Join(out, u), text, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	unitverify.Check(t, []string{"l4d2", "left4me-"},
		filepath.Join(out, units.Target), filepath.Join(out, "l4d2@srv1.service"), filepath.Join(out, "l4d2@srv2.service"),
		filepath.Join(out, "l4d2@sched.service"), filepath.Join(out, "left4me-restart@sched.timer"), filepath.Join(out, "left4me-backup@sched.timer"),
		filepath.Join(out, "left4me-restart@sched.service"), filepath.Join(out, "left4me-backup@sched.service"))
}

// Many specs: written on every CPU; a port taken by an older spec is
// refused for the newer one, results come in name order.
func TestManySpecs(t *testing.T) {
	c := fixture(t)
	dir := c.Layout.InstancesDir()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		port := 20000 + i
		if i == 250 {
			port = 20003 // taken by s003, written earlier
		}
		body := fmt.Sprintf("port: %d\nautostart: %v\nconfig: [hostname s%d]\n", port, i%3 == 0, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("s%03d.yaml", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	res, err := Run(c, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Instances) != n-1 || len(res.Skipped) != 1 || res.Skipped[0].Name != "s250" ||
		!strings.Contains(res.Skipped[0].Err.Error(), `20003 is already used by instance "s003"`) {
		t.Fatalf("%d instances, skipped %+v", len(res.Instances), res.Skipped)
	}
	if !sort.StringsAreSorted(res.Instances) || !sort.StringsAreSorted(res.Autostart) || len(res.Autostart) != 100 {
		t.Fatalf("results out of order or autostart %d", len(res.Autostart))
	}
	for i := range n {
		name := fmt.Sprintf("s%03d", i)
		d := filepath.Join(out, units.Instance(name)+".d")
		_, dropErr := os.Stat(filepath.Join(d, units.DropIn))
		_, wantErr := os.Lstat(filepath.Join(out, units.Target+".wants", units.Instance(name)))
		p, planErr := startplan.Read(filepath.Join(d, startplan.FileName))
		switch {
		case planErr != nil:
			t.Errorf("%s: %v", name, planErr)
		case i == 250:
			if dropErr == nil || len(p.Errors) == 0 {
				t.Errorf("%s: drop-in written (%v) or plan without the conflict %+v", name, dropErr, p)
			}
		case dropErr != nil || len(p.Config) != 1 || p.Config[0] != "hostname "+fmt.Sprint("s", i):
			t.Errorf("%s: drop-in %v, plan %+v", name, dropErr, p)
		case (wantErr == nil) != (i%3 == 0):
			t.Errorf("%s: wants link %v, autostart %v", name, wantErr, i%3 == 0)
		}
	}
}

// The installed generator names the helpers where `make install` put them
// (PREFIX, linked in), wherever the generator binary itself is run from.
func TestHelperDirFromPrefix(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	bin := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "--no-print-directory", filepath.Join(bin, "left4me-generator"), "BUILD="+bin, "PREFIX=/opt/l4m")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	cfg, out := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(cfg, "instances"), 0o755)
	run := exec.Command(filepath.Join(bin, "left4me-generator"), out)
	run.Env = append(os.Environ(), "LEFT4ME_CONFIG_DIR="+cfg)
	if b, err := run.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	unit, err := os.ReadFile(filepath.Join(out, units.Template))
	if err != nil || !strings.Contains(string(unit), "ExecStartPre=+/opt/l4m/lib/left4me/left4me-prestart %i") {
		t.Fatalf("%v\n%s", err, unit)
	}
}
