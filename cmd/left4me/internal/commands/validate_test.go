package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/specs"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/spec/layout"
)

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		specs map[string]string
		args  []string
		want  []string // lines of stdout, in order (each a substring)
		err   error    // nil: exit 0
	}{
		{"all valid", map[string]string{"a": "port: 27001\n", "b": "port: 27002\noverlays: [ov]\n"}, nil,
			[]string{"ok: 2 spec(s) valid"}, nil},
		{"field error", map[string]string{"a": "port: 27001\nautostart: yes\n"}, nil,
			[]string{"a.yaml:2:12: autostart: must be true or false"}, layout.ErrInvalidSpec},
		{"port across specs", map[string]string{"a": "port: 27005\n", "b": "# x\nport: 27005\n"}, nil,
			[]string{`b.yaml:2:7: port: 27005 is already used by instance "a"`}, layout.ErrInvalidSpec},
		{"missing overlay", map[string]string{"a": "port: 27001\noverlays: [nope]\n"}, nil,
			[]string{"a.yaml:2:12: overlays[0]: ", "nope: does not exist"}, layout.ErrInvalidSpec},
		{"named only", map[string]string{"a": "port: 27001\n", "b": "port: x\n"}, []string{"a"},
			[]string{"ok: 1 spec(s) valid"}, nil},
		{"named keeps cross-spec check", map[string]string{"a": "port: 27005\n", "b": "port: 27005\n"}, []string{"b"},
			[]string{"b.yaml:1:7: port: 27005 is already used"}, layout.ErrInvalidSpec},
		{"unknown name", map[string]string{"a": "port: 27001\n"}, []string{"zz"}, nil, fail.ErrUnknownInstance},
		{"bad name", nil, []string{"../x"}, nil, fail.ErrUsage},
		{"none", nil, nil, []string{"no specs in "}, nil},
		// Saved by an editor that writes a byte-order mark: the same spec.
		{"byte-order mark", map[string]string{"a": "\ufeffport: 27001\n"}, nil, []string{"ok: 1 spec(s) valid"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			te.overlay(t, "ov", "")
			for n, body := range c.specs {
				te.spec(t, n, body)
			}
			err := te.run(append([]string{"validate"}, c.args...)...)
			if c.err == nil && err != nil || c.err != nil && fail.Code(err) != fail.Code(c.err) {
				t.Fatalf("err %v (code %d), want %v", err, fail.Code(err), c.err)
			}
			out := te.out.String()
			for _, w := range c.want {
				i := strings.Index(out, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q:\n%s", w, out)
				}
				out = out[i+len(w):]
			}
		})
	}
}

func TestValidateJSON(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	b := te.spec(t, "b", "port: 0\nautostart: 1\n")
	err := te.run("validate", "--json")
	if !errors.Is(err, layout.ErrInvalidSpec) {
		t.Fatalf("err %v", err)
	}
	var got []specs.Checked
	if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	if len(got) != 2 || !got[0].Valid || got[0].Name != "a" || len(got[0].Problems) != 0 || got[1].Valid {
		t.Fatalf("%+v", got)
	}
	want := []specs.Problem{
		{File: b, Line: 1, Column: 7, Field: "port", Message: "0 is out of range 1..65535"},
		{File: b, Line: 2, Column: 12, Field: "autostart", Message: "must be true or false, got int 1"},
	}
	if len(got[1].Problems) != 2 || got[1].Problems[0] != want[0] || got[1].Problems[1] != want[1] {
		t.Fatalf("problems %+v\nwant %+v", got[1].Problems, want)
	}
	if strings.Contains(te.out.String(), "note:") {
		t.Error("notes must not go into the JSON on stdout")
	}
}

func TestValidateMissingSpecDir(t *testing.T) {
	te := newEnv(t)
	te.Layout.ConfigDir += "-missing"
	for _, args := range [][]string{{"validate"}, {"list"}, {"status", "a"}, {"create", "a", "--port", "1"}} {
		err := te.run(args...)
		if fail.Code(err) != fail.CodeNoSpecDir || !strings.Contains(err.Error(), "LEFT4ME_CONFIG_DIR") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

// Overlays that work but are probably not what was meant are warned about
// at the spec line that names them; the spec stays valid.
func TestValidateOverlayWarnings(t *testing.T) {
	te := newEnv(t)
	te.overlay(t, "flat", "")
	mkdirs(t, filepath.Join(te.Layout.Root, "overlays/flat/cfg"), filepath.Join(te.Layout.Root, "overlays/flat/addons"))
	te.overlay(t, "nocfg", "")
	te.overlay(t, "hidden", "sv_hidden 1\n")
	te.spec(t, "a", "port: 27001\noverlays:\n  - flat\n  - {path: nocfg, alias: nc}\n  - hidden\n")
	if err := te.run("validate"); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	for _, w := range []string{
		"warning: " + te.Layout.SpecPath("a") + ":3:5: overlays[0]: flat has cfg/, addons/ at its top and no left4dead2/",
		"a.yaml:4:5: overlays[1]: alias nc, but nocfg has no left4dead2/cfg/server.cfg: `exec server_nc` is staged",
		"a.yaml:5:5: overlays[2]: hidden has a left4dead2/cfg/server.cfg that is never read",
		"ok: 1 spec(s) valid",
	} {
		if !strings.Contains(te.out.String(), w) {
			t.Errorf("lacks %q:\n%s", w, te.out)
		}
	}
}

// A port inside the host's ephemeral range that is not reserved is warned
// of where the spec gives it (the default rule's at port:), and so at
// create; the spec stays valid.
func TestValidateEphemeralPorts(t *testing.T) {
	te := newEnv(t)
	te.Proc = filepath.Join(t.TempDir(), "proc")
	mkdirs(t, filepath.Join(te.Proc, "sys/net/ipv4"))
	writeFile(t, filepath.Join(te.Proc, "sys/net/ipv4/ip_local_port_range"), "32768\t60999\n")
	writeFile(t, filepath.Join(te.Proc, "sys/net/ipv4/ip_local_reserved_ports"), "33000,40001-40010\n")
	te.spec(t, "low", "port: 27015\n")
	te.spec(t, "mixed", "port: 30000\nports:\n  tv: 40000\n")
	te.spec(t, "high", "port: 33100\n")
	te.spec(t, "held", "port: 40005\nports: {client: 40006, tv: off, steam: 40007}\n")
	if err := te.run("validate"); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	out := te.out.String()
	for _, w := range []string{
		"warning: " + te.Layout.SpecPath("mixed") + ":3:7: ports.tv: the tv port 40000 is inside the host's ephemeral range 32768-60999 (net.ipv4.ip_local_port_range): the kernel gives those ports to any program's outgoing connections, so one may hold it when",
		"add 40000 to net.ipv4.ip_local_reserved_ports",
		"high.yaml:1:7: port: the game port 33100, the client port 34100 (port + 1000, the default), the tv port 35100 (port + 2000, the default), the steam port 36100 (port + 3000, the default) are inside",
		"add 33100,34100,35100,36100 to",
		"ok: 4 spec(s) valid",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("lacks %q:\n%s", w, out)
		}
	}
	// low: all below the range; mixed's steam port 33000 is reserved;
	// held: all reserved.
	if n := strings.Count(out, "warning: "); n != 2 {
		t.Errorf("%d warnings, want 2:\n%s", n, out)
	}
	if err := te.run("create", "new", "--port", "50000"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if w := "new.yaml:4:7: port: the game port 50000, the client port 51000"; !strings.Contains(te.err.String(), w) {
		t.Errorf("create: stderr lacks %q:\n%s", w, te.err)
	}
}

// --specs checks a staged directory against the host's ceilings and
// overlays; the host's own specs are not read.
func TestValidateStaged(t *testing.T) {
	cases := []struct {
		name  string
		specs map[string]string
		args  []string
		want  string
		err   error
	}{
		{"valid", map[string]string{"a": "port: 27001\noverlays: [ov]\n"}, nil, "ok: 1 spec(s) valid", nil},
		{"host ceilings", map[string]string{"a": "port: 27001\nresources: {memory_max: 2G}\n"}, nil,
			"a.yaml:2:25: resources.memory_max: 2G is above 1G", layout.ErrInvalidSpec},
		{"host overlays", map[string]string{"a": "port: 27001\noverlays: [nope]\n"}, nil, "nope: does not exist", layout.ErrInvalidSpec},
		{"ports within the staged set", map[string]string{"a": "port: 27005\n", "b": "port: 27005\n"}, nil,
			`b.yaml:1:7: port: 27005 is already used by instance "a"`, layout.ErrInvalidSpec},
		{"named", map[string]string{"a": "port: 27001\n", "b": "port: x\n"}, []string{"a"}, "ok: 1 spec(s) valid", nil},
		{"unknown name", map[string]string{"a": "port: 27001\n"}, []string{"zz"}, "", fail.ErrUnknownInstance},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			te.overlay(t, "ov", "")
			writeFile(t, filepath.Join(te.Layout.ConfigDir, "limits.yaml"), "memory_max: 1G\n")
			te.spec(t, "host", "port: nope\n") // the host's own, not checked
			staged := filepath.Join(t.TempDir(), "instances")
			mkdirs(t, staged)
			for n, body := range c.specs {
				writeFile(t, filepath.Join(staged, n+".yaml"), body)
			}
			err := te.run(append([]string{"validate", "--specs", staged}, c.args...)...)
			if c.err == nil && err != nil || c.err != nil && fail.Code(err) != fail.Code(c.err) {
				t.Fatalf("err %v (code %d), want %v\n%s", err, fail.Code(err), c.err, te.out)
			}
			if !strings.Contains(te.out.String(), c.want) || strings.Contains(te.out.String(), "host.yaml") {
				t.Errorf("stdout lacks %q (or checked the host's specs):\n%s", c.want, te.out)
			}
		})
	}
	te := newEnv(t)
	if err := te.run("validate", "--specs", filepath.Join(t.TempDir(), "missing")); fail.Code(err) != fail.CodeUsage {
		t.Errorf("missing dir: %v", err)
	}
}

// Without a game, the specs are fine: validate, start and game status say
// what is missing and how to get it, never "invalid spec"; game status
// exits non-zero.
func TestMissingGameIsNotAnInvalidSpec(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	if err := os.RemoveAll(filepath.Join(te.Layout.Root, "installation")); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", "a"}, {"start", "a"}, {"game", "status"}} {
		err := te.run(args...)
		text := fmt.Sprint(err) + te.out.String()
		if err == nil || errors.Is(err, layout.ErrInvalidSpec) || strings.Contains(text, "invalid") || !strings.Contains(text, "left4me game install") {
			t.Errorf("%q: %v\n%s", args, err, te.out)
		}
	}
}

// validate says every problem of a spec in one round, in the order of its
// lines: a port another spec holds, ceilings (found in field order), an
// overlay that is missing. (They used to come one round after another.)
func TestValidateOneRound(t *testing.T) {
	te := newEnv(t)
	old := te.spec(t, "old", "port: 27015\n")
	newer := te.spec(t, "new", "port: 27015\noverlays: [missing]\nresources:\n  tasks_max: 8000\n  memory_max: 99G\n")
	// The older spec holds the port: older by its time, set (two writes
	// in a row may get the same one, and then the name decides).
	at0 := time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC)
	for p, at := range map[string]time.Time{old: at0, newer: at0.Add(time.Second)} {
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	err := te.run("validate", "new")
	if err == nil {
		t.Fatal("valid")
	}
	out := te.out.String()
	var at []int
	for _, w := range []string{`new.yaml:1:7: port: 27015 is already used by instance "old"`, "new.yaml:2:12: overlays[0]", "new.yaml:4:14: resources.tasks_max", "new.yaml:5:15: resources.memory_max"} {
		i := strings.Index(out, w)
		if i < 0 {
			t.Errorf("no %q in\n%s", w, out)
		}
		at = append(at, i)
	}
	if !slices.IsSorted(at) {
		t.Errorf("not in the order of the lines:\n%s", out)
	}
}

// TestValidateSpecMode: a spec holding a password that others can read
// is a warning naming the file, its mode and the fix; validate still
// exits 0 when the spec is otherwise valid.
func TestValidateSpecMode(t *testing.T) {
	const secret = "port: 27001\nconfig:\n  - rcon_password \"hunter2\"\n"
	cases := []struct {
		name string
		body string
		mode os.FileMode
		gid  int    // group of the file (-1: as written)
		want string // "": no warning
	}{
		{"0644 with rcon_password", secret, 0o644, -1, "srv4.yaml: mode 0644: every local user can read it"},
		{"0604 with sv_password", "port: 27001\nconfig: ['sv_password abc']\n", 0o604, -1, "srv4.yaml: mode 0604: every local user can read it"},
		{"sm password", "port: 27001\nconfig: ['sm_cvar sm_admin_password abc']\n", 0o644, -1, "mode 0644"},
		{"password argument", "port: 27001\narguments: ['+rcon_password', 'x']\n", 0o644, -1, "mode 0644"},
		{"0640 root's group", secret, 0o640, 0, ""},
		{"0640 another group", secret, 0o640, 4242, "mode 0640: group 4242 can read it"},
		{"0600", secret, 0o600, -1, ""},
		{"0644 without a secret", "port: 27001\nconfig: ['hostname x']\n", 0o644, -1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			p := te.spec(t, "srv4", c.body)
			if err := os.Chmod(p, c.mode); err != nil {
				t.Fatal(err)
			}
			if c.gid >= 0 {
				if err := os.Chown(p, -1, c.gid); err != nil {
					t.Skipf("chown: %v", err)
				}
			}
			if err := te.run("validate"); err != nil {
				t.Fatalf("err %v: a warning must not fail validate", err)
			}
			out := te.out.String()
			if !strings.Contains(out, "ok: 1 spec(s) valid") {
				t.Errorf("stdout %q", out)
			}
			if c.want == "" {
				if strings.Contains(out, "warning") {
					t.Errorf("warning where none is due: %q", out)
				}
				return
			}
			for _, w := range []string{"warning: " + p + ": ", c.want, "holds a password"} {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if c.mode&0o004 != 0 && !strings.Contains(out, "chmod 640 "+p) {
				t.Errorf("no fix in %q", out)
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("the password is quoted: %q", out)
			}
		})
	}
}

// validate (all specs) checks alerts.yaml as sending an alert reads it:
// a typo there used to pass "ok" while every alert failed.
func TestValidateAlerts(t *testing.T) {
	cases := []struct {
		name   string
		alerts string      // "": no alerts.yaml
		mode   os.FileMode // of alerts.yaml
		args   []string
		root   bool     // needs to run as root (alerts.yaml must be root's)
		want   []string // lines of stdout, in order (each a substring)
		err    error    // nil: exit 0
	}{
		{"none", "", 0, nil, false, []string{"ok: 1 spec(s) valid\n"}, nil},
		{"valid", "command: /bin/true\n", 0o600, nil, true, []string{"ok: 1 spec(s) valid and alerts.yaml\n"}, nil},
		{"unknown key", "command: /bin/true\nwebhok: x\n", 0o600, nil, true,
			[]string{"alerts.yaml:2:1: webhok: unknown key; did you mean webhook?"}, layout.ErrInvalidSpec},
		// yaml.v3 says "found character that cannot start any token", no line.
		{"tab", "\tcommand: /bin/true\n", 0o600, nil, true,
			[]string{"alerts.yaml:1:1: a tab in the indentation; YAML indents with spaces only"}, layout.ErrInvalidSpec},
		{"world-writable", "command: /bin/true\n", 0o666, nil, false,
			[]string{"alerts.yaml: owned by uid", "not group/world-writable"}, layout.ErrInvalidSpec},
		{"webhook readable by others", "webhook: https://h/x\n", 0o644, nil, true,
			[]string{"warning: ", "alerts.yaml is readable by other users", "ok: 1 spec(s) valid and alerts.yaml\n"}, nil},
		{"named specs only", "webhok: x\n", 0o600, []string{"a"}, false, []string{"ok: 1 spec(s) valid\n"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root && os.Geteuid() != 0 {
				t.Skip("alerts.yaml must be root's")
			}
			te := newEnv(t)
			te.spec(t, "a", "port: 27001\n")
			if c.alerts != "" {
				p := filepath.Join(te.Layout.ConfigDir, "alerts.yaml")
				writeFile(t, p, c.alerts)
				if err := os.Chmod(p, c.mode); err != nil {
					t.Fatal(err)
				}
			}
			err := te.run(append([]string{"validate"}, c.args...)...)
			if c.err == nil && err != nil || c.err != nil && (fail.Code(err) != fail.Code(c.err) || !errors.Is(err, c.err)) {
				t.Fatalf("err %v (code %d), want %v", err, fail.Code(err), c.err)
			}
			out := te.out.String()
			if c.err != nil && strings.Contains("\n"+out, "\nok:") {
				t.Errorf("ok beside a problem:\n%s", out)
			}
			for _, w := range c.want {
				i := strings.Index(out, w)
				if i < 0 {
					t.Fatalf("stdout lacks %q:\n%s", w, out)
				}
				out = out[i+len(w):]
			}
		})
	}
}

// In --json, alerts.yaml is an entry of its own, "kind": "alerts", its
// problems located as a spec's are.
func TestValidateAlertsJSON(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("alerts.yaml must be root's")
	}
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	p := filepath.Join(te.Layout.ConfigDir, "alerts.yaml")
	writeFile(t, p, "command: /bin/true\nformat: teams\n")
	os.Chmod(p, 0o600)
	if err := te.run("validate", "--json"); !errors.Is(err, layout.ErrInvalidSpec) {
		t.Fatalf("err %v", err)
	}
	var got []specs.Checked
	if err := json.Unmarshal(te.out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	if len(got) != 2 || got[0].Kind != "" || !got[0].Valid {
		t.Fatalf("%+v", got)
	}
	a := got[1]
	want := specs.Problem{File: p, Line: 2, Column: 9, Field: "format", Message: `want "chat" (Discord, Slack and compatible) or "generic" (the event's JSON)`}
	if a.Kind != "alerts" || a.Name != "alerts.yaml" || a.File != p || a.Valid || len(a.Problems) != 1 || a.Problems[0] != want {
		t.Fatalf("alerts.yaml's entry %+v", a)
	}
}

// A spec others than root can change decides what the server runs: said
// whether it holds a password or not (operator review: a spec of uid 1000
// with mode 0666 passed with "ok").
func TestValidateSpecWritable(t *testing.T) {
	for _, c := range []struct {
		name     string
		mode     os.FileMode
		uid, gid int // -1: as written
		want     string
	}{
		{"0666", 0o666, -1, -1, "every local user can change it"},
		{"0664 another group", 0o664, -1, 4242, "group 4242 can change it"},
		{"0664 root's group", 0o664, -1, 0, ""},
		{"a user's", 0o644, 1000, -1, "its owner, uid 1000, can change it"},
		{"0644 root's", 0o644, -1, -1, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			p := te.spec(t, "srv4", "port: 27001\n")
			if err := os.Chmod(p, c.mode); err != nil {
				t.Fatal(err)
			}
			if c.uid >= 0 || c.gid >= 0 {
				if err := os.Chown(p, c.uid, c.gid); err != nil {
					t.Skipf("chown: %v", err)
				}
			}
			if err := te.run("validate"); err != nil {
				t.Fatalf("err %v: a warning must not fail validate", err)
			}
			out := te.out.String()
			if c.want == "" {
				if strings.Contains(out, "warning") {
					t.Errorf("warning where none is due: %q", out)
				}
				return
			}
			for _, w := range []string{"warning: " + p + ": ", c.want, "what the server runs", "chmod go-w " + p} {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
