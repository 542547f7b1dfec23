package commands

import (
	"os"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/spec"
)

// TestEnableDisable flips a hand-written spec and compares it byte for
// byte with testdata/hand.{enabled,disabled}.yaml.
func TestEnableDisable(t *testing.T) {
	before, err := os.ReadFile("testdata/hand.yaml")
	if err != nil {
		t.Fatal(err)
	}
	te := newEnv(t)
	p := te.spec(t, "srv1", string(before))
	os.Chmod(p, 0o640)
	for _, step := range []struct{ cmd, golden, says string }{
		{"enable", "testdata/hand.enabled.yaml", "srv1: autostart on"},
		{"enable", "testdata/hand.enabled.yaml", "srv1: autostart was already on"},
		{"disable", "testdata/hand.disabled.yaml", "srv1: autostart off"},
		{"enable", "testdata/hand.enabled.yaml", "srv1: autostart on"},
	} {
		if err := te.run(step.cmd, "srv1"); err != nil {
			t.Fatalf("%s: %v", step.cmd, err)
		}
		got, _ := os.ReadFile(p)
		want, _ := os.ReadFile(step.golden)
		if string(got) != string(want) {
			t.Fatalf("%s: got\n%s\nwant\n%s", step.cmd, got, want)
		}
		if !strings.Contains(te.out.String(), step.says) {
			t.Errorf("%s: stdout %q", step.cmd, te.out)
		}
		if s, err := spec.ReadFile(p); err != nil || s.Autostart != (step.cmd == "enable") {
			t.Fatalf("%s: %+v %v", step.cmd, s, err)
		}
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", st.Mode())
	}
	if n := strings.Count(strings.Join(te.sd.calls, ","), "reload"); n != 4 {
		t.Errorf("reloads: %v", te.sd.calls)
	}
}

func TestEnableRefuses(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "bad", "port: 27001\nautostart: maybe\n")
	te.spec(t, "flow", "{port: 27001}\n")
	if err := os.Symlink(te.Layout.SpecPath("flow"), te.Layout.SpecPath("link")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		code int
		want string
	}{
		{"bad", fail.CodeFailure, "bad.yaml:2:12: autostart"},
		{"flow", fail.CodeFailure, "set autostart: true in it by hand"},
		{"link", fail.CodeFailure, "is a symbolic link"},
		{"nope", fail.CodeUnknownInstance, `unknown instance "nope"`},
	}
	for _, c := range cases {
		err := te.run("enable", c.name)
		if fail.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: code %d %v", c.name, fail.Code(err), err)
		}
	}
	if b, _ := os.ReadFile(te.Layout.SpecPath("bad")); string(b) != "port: 27001\nautostart: maybe\n" {
		t.Errorf("invalid spec was edited: %q", b)
	}
}

// enable --now and disable --now start and stop the instance too.
func TestAutostartNow(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\n")
	if err := te.run("enable", "--now", "srv1"); err != nil {
		t.Fatal(err)
	}
	if err := te.run("disable", "--now", "srv1"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.sd.calls, ","); !strings.Contains(got, "start l4d2@srv1.service") || !strings.HasSuffix(got, "stop l4d2@srv1.service") {
		t.Errorf("calls %s", got)
	}
}

// TestRewriteNarrowsMode: enable/disable rewrite a spec at most 0640, so a
// hand-written 0644 spec (which may hold rcon_password) stops being
// readable by every local user; a stricter mode stays.
func TestRewriteNarrowsMode(t *testing.T) {
	cases := []struct {
		name      string
		cmd       string
		old, want os.FileMode
	}{
		{"enable narrows 0644", "enable", 0o644, 0o640},
		{"disable narrows 0644", "disable", 0o644, 0o640},
		{"enable keeps 0600", "enable", 0o600, 0o600},
		{"enable keeps 0640", "enable", 0o640, 0o640},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			body := "port: 27001\nautostart: false\nconfig:\n  - rcon_password \"hunter2\"\n"
			if c.cmd == "disable" {
				body = strings.Replace(body, "false", "true", 1)
			}
			p := te.spec(t, "srv5", body)
			if err := os.Chmod(p, c.old); err != nil {
				t.Fatal(err)
			}
			if err := te.run(c.cmd, "srv5"); err != nil {
				t.Fatalf("%s: %v", c.cmd, err)
			}
			if st, _ := os.Stat(p); st.Mode().Perm() != c.want {
				t.Errorf("mode %v, want %v", st.Mode().Perm(), c.want)
			}
		})
	}
}
