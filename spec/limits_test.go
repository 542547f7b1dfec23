package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec/layout"
)

// A spec from the front end cannot lift the host's protective limits; the
// operator sets the ceilings in one file.
func TestLimits(t *testing.T) {
	greedy := "port: 27015\nresources:\n  memory_max: 1T\n  cpu_quota: 100000%\n  cpu_weight: 10000\n  tasks_max: 1000000\n  nice: -20\n  disk: 1T\n  log_size: 2T\n"
	s, err := Parse("g.yaml", []byte(greedy))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	l, err := LoadLimits(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckLimits("g.yaml", l)
	for _, want := range []string{
		"g.yaml:3:15: resources.memory_max: 1T is above 16G (the host's ceiling, set in the default ceilings (" + filepath.Join(dir, LimitsFile) + " does not exist))",
		"g.yaml:4:14: resources.cpu_quota: 100000% is above 400%",
		"g.yaml:5:15: resources.cpu_weight: 10000 is above 1000",
		"g.yaml:6:14: resources.tasks_max: 1000000 is above 4096",
		"g.yaml:7:9: resources.nice: -20 is below -5",
		"g.yaml:8:9: resources.disk: 1T is above 20G",
		"g.yaml:9:13: resources.log_size: 2T is above the disk ceiling",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lacks %q:\n%v", want, err)
		}
	}
	if !errors.Is(err, layout.ErrInvalidSpec) {
		t.Errorf("not an invalid spec: %v", err)
	}
	// The operator raises them.
	os.WriteFile(filepath.Join(dir, LimitsFile), []byte("memory_max: 2T\ncpu_quota: 100000%\ncpu_weight_max: 10000\ntasks_max: 1000000\nnice_min: -20\ndisk: 4T\n"), 0o644)
	if l, err = LoadLimits(dir); err != nil {
		t.Fatal(err)
	}
	s.Resources.Disk = "" // the ceiling's disk bounds log_size
	if err := s.CheckLimits("g.yaml", l); err != nil {
		t.Errorf("within raised ceilings: %v", err)
	}
	s.Resources.Disk = "1T"
	if err := s.CheckLimits("g.yaml", l); err == nil || !strings.Contains(err.Error(), "log_size: 2T is above the disk ceiling") {
		t.Errorf("log_size above the spec's own disk: %v", err)
	}
	s.Resources.LogSize = "1T"
	if err := s.CheckLimits("g.yaml", l); err != nil {
		t.Errorf("within raised ceilings: %v", err)
	}
	// A broken file: the defaults, and an error that says so.
	os.WriteFile(filepath.Join(dir, LimitsFile), []byte("memory_max: lots\nnice_mn: 1\n"), 0o644)
	l, err = LoadLimits(dir)
	if err == nil || !strings.Contains(err.Error(), "the default ceilings apply") || l.MemoryMax != "16G" {
		t.Errorf("broken limits: %v %+v", err, l)
	}
	// Every problem at once, each at its line and column, a typo with
	// the key meant.
	for _, w := range []string{
		filepath.Join(dir, LimitsFile) + `:1:13: memory_max: "lots" `,
		filepath.Join(dir, LimitsFile) + ":2:1: nice_mn: unknown key; did you mean nice_min?",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("no %q in\n%v", w, err)
		}
	}
	if strings.Index(err.Error(), "memory_max") > strings.Index(err.Error(), "nice_mn") {
		t.Errorf("not in the order of the lines:\n%v", err)
	}
}

// The generator and validate share the check: Walk refuses the spec.
func TestWalkAppliesLimits(t *testing.T) {
	cfg := t.TempDir()
	dir := filepath.Join(cfg, "instances")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("port: 27015\nresources: {nice: -19}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("port: 27016\nresources: {nice: -5}\n"), 0o644)
	all, err := LoadAll(dir)
	if err != nil || len(all) != 2 || all[0].Err == nil || all[1].Err != nil || !strings.Contains(all[0].Err.Error(), "resources.nice: -19 is below -5") {
		t.Fatalf("%v: %+v", err, all)
	}
}

// A staged copy of instances/ is checked against the host's ceilings, not
// against a limits.yaml beside the copy.
func TestLoadAllAtUsesHostLimits(t *testing.T) {
	host, staging := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(host, LimitsFile), []byte("memory_max: 1G\n"), 0o644)
	os.WriteFile(filepath.Join(staging, LimitsFile), []byte("memory_max: 64G\n"), 0o644)
	dir := filepath.Join(staging, "instances")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "big.yaml"), []byte("port: 27015\nresources: {memory_max: 2G}\n"), 0o644)
	ins, err := LoadAllAt(dir, layout.Layout{ConfigDir: host, Root: t.TempDir()})
	if err != nil || len(ins) != 1 {
		t.Fatalf("%v %+v", err, ins)
	}
	if ins[0].Err == nil || !strings.Contains(ins[0].Err.Error(), "big.yaml:2:25: resources.memory_max: 2G is above 1G") {
		t.Errorf("staged spec checked against the wrong ceilings: %v", ins[0].Err)
	}
}
