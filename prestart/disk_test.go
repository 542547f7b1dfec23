package prestart

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec"
)

// A start is refused, saying what and where, when the upper layer and the
// dumps hold more than the instance's disk ceiling (issue 26, item 9).
func TestStartRefusesOverDisk(t *testing.T) {
	e := newEnv(t, "")
	s, err := spec.Judge(e.c.Layout, "srv")
	if err != nil {
		t.Fatal(err)
	}
	p := s.StartPlan()
	p.Disk = 1 << 20
	if err := Start(e.c, "srv", p); err != nil {
		t.Fatalf("an empty instance: %v", err)
	}
	if err := Stop(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	mk(t, e.path("runtime/srv/upper/left4dead2/logs/big.log"), strings.Repeat("x", 700<<10), 0o644)
	mk(t, e.path("runtime/srv/dumps/crash/a.mdmp"), strings.Repeat("x", 400<<10), 0o644)
	err = Start(e.c, "srv", p)
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("over the ceiling: %v", err)
	}
	for _, want := range []string{e.path("runtime/srv"), "more than the 1.0 MiB it may", "resources.disk in " + e.c.Layout.SpecPath("srv"), "left4me reset srv"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if mounted(t, e.c.Layout.MergedDir("srv")) {
		t.Errorf("mounted although refused")
	}
	if err := os.Remove(e.path("runtime/srv/upper/left4dead2/logs/big.log")); err != nil {
		t.Fatal(err)
	}
	if err := Start(e.c, "srv", p); err != nil {
		t.Fatalf("under the ceiling again: %v", err)
	}
	_ = Stop(e.c, "srv")
}
