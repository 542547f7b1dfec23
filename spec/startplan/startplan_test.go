package startplan

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

var specBytes = []byte("port: 27015\nconfig:\n  - hostname x\n# no newline at the end")

func TestRoundTrip(t *testing.T) {
	for _, p := range []Plan{
		{Spec: specBytes},
		{Spec: []byte("spec 3\nconfig x\n")},
		{Spec: specBytes, Overlays: []Overlay{{Path: "competitive", Alias: "overlay_12"}, {Path: "workshop/maps"}},
			Config: []string{`hostname "My server"`, "", "  spaced\tline  ", "config x"}},
		{Spec: specBytes, Disk: 1 << 30, LogDays: 3, LogBytes: 64 << 20},
		{Spec: specBytes, Ports: []Port{{"game", 27015}, {"client", 28015}, {"steam", 30015}}},
		{Spec: specBytes, Limits: Limits{MemoryMax: 2 << 30, TasksMax: 512}},
		{Spec: specBytes, Limits: Limits{MemoryMax: 3 << 30, TasksMax: 256, CPUQuota: 1500000, CPUWeight: 200}},
		{Errors: []string{"a.yaml:1:7: port: 0 is out of range", "a.yaml:2:1: x: unknown key"}},
	} {
		got, err := Decode(Encode(p))
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, p)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	h := header + "\n"
	d := "spec 3\nabc"
	for _, c := range []struct{ name, text, want string }{
		{"no header", d, "header"},
		{"other version", "left4me-start-plan 2\n" + d, "header"},
		{"no spec", h + "overlay a\n", "no spec"},
		{"spec shorter", h + "spec 4\nabc", "spec of \"4\" bytes, 3 follow"},
		{"spec longer", h + "spec 2\nabc", "spec of \"2\" bytes, 3 follow"},
		{"spec size not a number", h + "spec x\nabc", "spec of \"x\" bytes"},
		{"escaping path", h + "overlay ../../etc\n" + d, `".." component`},
		{"absolute path", h + "overlay /etc\n" + d, "absolute"},
		{"bad alias", h + "overlay a ../x\n" + d, "[A-Za-z0-9_]"},
		{"alias with space", h + "overlay a b c\n" + d, "[A-Za-z0-9_]"},
		{"unknown item", h + "exec /bin/sh\n" + d, `unknown item "exec"`},
		{"port out of range", h + "port game 70000\n" + d, `"game 70000" is not ROLE PORT`},
		{"port without role", h + "port 27015\n" + d, `"27015" is not ROLE PORT`},
		{"port role not a word", h + "port ../x 27015\n" + d, `is not ROLE PORT`},
		{"truncated", h + "config x", "truncated"},
		{"logs not numbers", h + "logs x 1\n" + d, `logs "x 1" is not DAYS BYTES`},
		{"logs negative", h + "logs 1 -5\n" + d, `logs "1 -5" is not DAYS BYTES`},
		{"limits short", h + "limits 1 2 3\n" + d, `limits "1 2 3" is not MEMORY TASKS CPU_QUOTA CPU_WEIGHT`},
		{"limits no memory", h + "limits 0 2 0 0\n" + d, `is not MEMORY TASKS`},
		{"limits negative", h + "limits 1 -2 0 0\n" + d, `is not MEMORY TASKS`},
		{"limits weight", h + "limits 1 2 0 10001\n" + d, `is not MEMORY TASKS`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode([]byte(c.text))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	good := Encode(Plan{Spec: specBytes, Overlays: []Overlay{{Path: "a", Alias: "b"}}})
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok", good, 0o600)
	if p, err := Read(ok); err != nil || string(p.Spec) != string(specBytes) || len(p.Overlays) != 1 {
		t.Fatalf("good plan: %+v %v", p, err)
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(ok, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(link); err == nil {
		t.Error("a symbolic link was followed")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(fifo); !errors.Is(err, ErrInvalid) {
		t.Errorf("fifo: %v", err)
	}
	if _, err := Read(write("gw", good, 0o620)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "writable by root only") {
		t.Errorf("group-writable plan: %v", err)
	}
	if _, err := Read(write("big", make([]byte, MaxSize+1), 0o600)); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "larger") {
		t.Errorf("huge plan: %v", err)
	}
	if os.Geteuid() == 0 {
		other := write("other", good, 0o600)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(other); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "uid 65534") {
			t.Errorf("plan owned by nobody: %v", err)
		}
	}
}
