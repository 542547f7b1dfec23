package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/startplan"
)

// start reloads systemd when the start helper would refuse the spec: it
// has no start plan yet (a new spec), or the plan was made from another
// text (an edit of a stopped server whose unit systemd had unloaded, so
// that systemd's own flag says nothing). With the plan readable, systemd's
// flag is not asked: every start sets it (the helper's runtime limits are
// drop-ins of their own), which would reload systemd at every restart.
func TestStartReloadsForThePlan(t *testing.T) {
	for _, tc := range []struct {
		name       string
		plan       string // the spec text the last plan was made from; "" none
		needReload bool   // systemd's NeedDaemonReload
		reload     bool
	}{
		{"no plan yet", "", false, true},
		{"plan of an older text", "port: 27015\n", false, true},
		{"plan of this text", "port: 27015\nconfig: [\"hostname three\"]\n", false, false},
		{"plan of this text, systemd's flag set by the last start", "port: 27015\nconfig: [\"hostname three\"]\n", true, false},
		{"plan of an older text, systemd's flag set", "port: 27015\n", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.PlanDir = t.TempDir()
			if tc.plan != "" {
				s, err := spec.Parse("plan.yaml", []byte(tc.plan))
				if err != nil {
					t.Fatal(err)
				}
				p := startplan.Path(te.PlanDir, "srv3")
				mkdirs(t, filepath.Dir(p))
				if err := os.WriteFile(p, startplan.Encode(s.StartPlan()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			te.spec(t, "srv3", "port: 27015\nconfig: [\"hostname three\"]\n")
			u := te.sd.get("l4d2@srv3.service")
			u.NeedReload = tc.needReload
			te.sd.units[u.Name] = u
			if err := te.run("start", "srv3"); err != nil {
				t.Fatalf("%v\n%s", err, te.err)
			}
			calls := strings.Join(te.sd.calls, ",")
			if got := strings.HasPrefix(calls, "reload,"); got != tc.reload {
				t.Errorf("reloaded %v, want %v: %s", got, tc.reload, calls)
			}
			if !strings.Contains(calls, "start l4d2@srv3.service") {
				t.Errorf("not started: %s", calls)
			}
			// status says the same.
			te.out.Reset()
			te.err.Reset()
			_ = te.run("status", "srv3")
			if got := strings.Contains(te.err.String(), "spec changed since systemd last loaded it"); got != (tc.plan != "port: 27015\nconfig: [\"hostname three\"]\n") {
				t.Errorf("status says stale %v:\n%s", got, te.err)
			}
		})
	}
}

// A limits.yaml that cannot be used is said, and the default ceilings
// apply meanwhile, as the generator applies them: starts and list go on
// (a scheduled restart must not fail for it); validate still fails on it.
func TestUnusableLimitsDoNotStopTheCLI(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "limits.yaml"), "cpu_qouta: 400%\n")
	if err := te.run("start", "srv1"); err != nil {
		t.Fatalf("start: %v\n%s", err, te.err)
	}
	if n := strings.Count(te.err.String(), "limits.yaml"); n != 1 {
		t.Errorf("start said it %d times:\n%s", n, te.err)
	}
	if err := te.run("list"); err != nil || !strings.Contains(te.out.String(), "srv1") {
		t.Fatalf("list: %v\n%s", err, te.out)
	}
	if !strings.Contains(te.err.String(), "note: "+filepath.Join(te.Layout.ConfigDir, "limits.yaml")+":1:1: cpu_qouta: unknown key; did you mean cpu_quota?") ||
		!strings.Contains(te.err.String(), "the default ceilings apply") {
		t.Errorf("stderr %q", te.err)
	}
	if err := te.run("validate", "srv1"); err == nil {
		t.Error("validate passed an unusable limits.yaml")
	}
}
