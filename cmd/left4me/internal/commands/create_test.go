package commands

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

func TestCreate(t *testing.T) {
	te := newEnv(t)
	te.overlay(t, "competitive", "sv_comp 1\n")
	te.overlay(t, "workshop/maps", "")
	// Flags after the name, a value starting with "-", a comma in a line.
	err := te.run("create", "srv1", "--port", "27015", "--overlay", "competitive=comp", "--overlay", "workshop/maps",
		"--config", `hostname "a, b"`, "--arg", "+map", "--arg", "c1m1_hotel", "--arg", "-tickrate", "--arg", "100", "--autostart")
	if err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	s, err := spec.ReadFile(te.Layout.SpecPath("srv1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != 27015 || !s.Autostart ||
		!reflect.DeepEqual(s.Overlays, []spec.Overlay{{Path: "competitive", Alias: "comp"}, {Path: "workshop/maps"}}) ||
		!reflect.DeepEqual(s.Config, []string{`hostname "a, b"`}) ||
		!reflect.DeepEqual(s.Arguments, []string{"+map", "c1m1_hotel", "-tickrate", "100"}) {
		t.Fatalf("got %+v", s)
	}
	if strings.Join(te.sd.calls, ",") != "reload" {
		t.Errorf("systemd calls %v", te.sd.calls)
	}
	if te.err.Len() != 0 {
		t.Errorf("stderr: %s", te.err)
	}
	ents, _ := os.ReadDir(te.Layout.InstancesDir())
	if len(ents) != 1 {
		t.Errorf("instances dir holds %d entries (temp file left?)", len(ents))
	}
}

func TestCreateRefuses(t *testing.T) {
	te := newEnv(t)
	orig := te.spec(t, "srv1", "# mine\nport: 27015\n")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"create", "srv1", "--port", "27020"}, fail.CodeFailure, "has a spec already"},
		// A clash is an invalid spec (1), said of the flag: no file was written
		// to name a line of.
		{[]string{"create", "srv2", "--port", "27015"}, fail.CodeFailure, `srv2 (not created): --port: 27015 is already used by instance "srv1" (its game port); pick another port (nothing was written)`},
		// Every port of the set counts: the default client port of 26015
		// is srv1's game port.
		{[]string{"create", "srv2", "--port", "26015"}, fail.CodeFailure, `srv2 (not created): --port: its client port 27015 (port + 1000, the default) is already used by instance "srv1" (its game port); pick another port, or give ports: {client: N}`},
		{[]string{"create", "srv2"}, fail.CodeUsage, "create needs --port N"},
		{[]string{"create", "srv2", "--port", "0"}, fail.CodeUsage, "port: 0 is out of range"},
		{[]string{"create", "srv2", "--port", "1", "--overlay", "../etc"}, fail.CodeUsage, `has a ".." component`},
		{[]string{"create", "srv2", "--port", "1", "--overlay", "a=b c"}, fail.CodeUsage, `alias "b c" must be`},
		{[]string{"create", "-x", "--port", "1"}, fail.CodeUsage, "flag provided but not defined"},
		{[]string{"create", "a.b", "--port", "1"}, fail.CodeUsage, "invalid instance name"},
	}
	for _, c := range cases {
		err := te.run(c.args...)
		// A clash is the spec's conflict, not a mistake in the call: no
		// "usage:" before it, and no FILE:LINE:COL of the unwritten file.
		clash := strings.Contains(c.want, "already used")
		if fail.Code(err) != c.code || !strings.Contains(err.Error(), c.want) ||
			clash && (!strings.HasPrefix(err.Error(), "srv2 (not created)") || strings.Contains(err.Error(), ".yaml") || !errors.Is(err, layout.ErrInvalidSpec)) {
			t.Errorf("%v: code %d, %v; want %d %q", c.args, fail.Code(err), err, c.code, c.want)
		}
	}
	if b, _ := os.ReadFile(orig); string(b) != "# mine\nport: 27015\n" {
		t.Fatalf("existing spec changed: %q", b)
	}
	if _, err := os.Stat(te.Layout.SpecPath("srv2")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused create left a spec")
	}
}

func TestCreateWithoutSystemdOrOverlay(t *testing.T) {
	te := newEnv(t)
	te.noSystemd()
	if err := te.run("create", "srv1", "--port", "27015", "--overlay", "later"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"srv1 cannot start yet: overlays[0]", "systemd is not reachable, so it was not reloaded"} {
		if !strings.Contains(te.err.String(), w) {
			t.Errorf("stderr lacks %q: %s", w, te.err)
		}
	}
}

func TestCreatePermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may write anywhere")
	}
	te := newEnv(t)
	os.Chmod(te.Layout.InstancesDir(), 0o555)
	t.Cleanup(func() { os.Chmod(te.Layout.InstancesDir(), 0o755) })
	err := te.run("create", "srv1", "--port", "1")
	if fail.Code(err) != fail.CodePermission || !strings.Contains(err.Error(), "needs root") {
		t.Fatalf("%v", err)
	}
}

// A temporary file a killed create left is removed by the next command
// that takes the specs lock; readers never took it for a spec.
func TestCreateRemovesKilledWritersTemp(t *testing.T) {
	te := newEnv(t)
	left := te.Layout.InstancesDir() + "/.srv0.yaml.tmp123"
	if err := os.WriteFile(left, []byte("port: 27"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := te.run("create", "srv1", "--port", "27015"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if _, err := os.Lstat(left); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there (%v)", left, err)
	}
	if !strings.Contains(te.err.String(), "left by an interrupted left4me command") {
		t.Errorf("stderr: %s", te.err)
	}
}
