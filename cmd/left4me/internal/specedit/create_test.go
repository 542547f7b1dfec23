package specedit

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/spec"
)

func TestRenderRoundTrip(t *testing.T) {
	n := New{Port: 27015, Autostart: true,
		Overlays:  []spec.Overlay{{Path: "competitive", Alias: "comp"}, {Path: "workshop/maps"}},
		Config:    []string{`hostname "My server, #1"`, "sv_tags a,b", "  spaced  ", "true", "- dash"},
		Arguments: []string{"+map", "c1m1_hotel", "-tickrate", "100", "yes", "{x}"}}
	data, err := Render("srv1", n)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse("srv1.yaml", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if s.Port != n.Port || !s.Autostart || !reflect.DeepEqual(s.Overlays, n.Overlays) ||
		!reflect.DeepEqual(s.Config, n.Config) || !reflect.DeepEqual(s.Arguments, n.Arguments) {
		t.Fatalf("round trip changed the spec: %+v\n%s", s, data)
	}
	if !strings.HasPrefix(string(data), "# left4me instance srv1") {
		t.Errorf("no header comment:\n%s", data)
	}
}

func TestRenderRefusesInvalid(t *testing.T) {
	for name, n := range map[string]New{
		"port":    {Port: 70000},
		"alias":   {Port: 1, Overlays: []spec.Overlay{{Path: "a", Alias: "x y"}}},
		"newline": {Port: 1, Config: []string{"a\nb"}},
		"dup":     {Port: 1, Overlays: []spec.Overlay{{Path: "a"}, {Path: "a"}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Render("x", n)
			if !errors.Is(err, fail.ErrUsage) {
				t.Fatalf("got %v", err)
			}
			if strings.Contains(err.Error(), "x.yaml:") {
				t.Errorf("message points into a file that was never written: %v", err)
			}
		})
	}
}

func TestParseOverlay(t *testing.T) {
	for in, want := range map[string]spec.Overlay{
		"a":           {Path: "a"},
		"a/b=alias_1": {Path: "a/b", Alias: "alias_1"},
	} {
		got, err := ParseOverlay(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "/abs", "../x", "a=", "a:b"} {
		if _, err := ParseOverlay(in); !errors.Is(err, fail.ErrUsage) {
			t.Errorf("%q accepted: %v", in, err)
		}
	}
}

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.yaml")
	if err := WriteNew(p, []byte("port: 27001\n")); err != nil {
		t.Fatal(err)
	}
	if err := WriteNew(p, []byte("port: 27002\n")); !errors.Is(err, fail.ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}
	if s, err := spec.ReadFile(p); err != nil || s.Port != 27001 {
		t.Fatalf("%+v %v", s, err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode())
	}
	assertNoTemp(t, dir, 1)
	if err := WriteNew(filepath.Join(dir, "missing", "b.yaml"), []byte("x")); err == nil {
		t.Fatal("write into a missing dir succeeded")
	}
}

func TestReplaceMode(t *testing.T) {
	cases := []struct {
		name      string
		old, want os.FileMode
	}{
		{"0640 stays", 0o640, 0o640},
		{"stricter 0600 stays", 0o600, 0o600},
		{"0400 stays", 0o400, 0o400},
		{"hand-written 0644 narrowed", 0o644, 0o640},
		{"0666 narrowed", 0o666, 0o640},
		{"0755 narrowed", 0o755, 0o640},
		{"0604 narrowed", 0o604, 0o600},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "a.yaml")
			if err := os.WriteFile(p, []byte("port: 27001\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// Set after the write: the umask must not decide the mode.
			if err := os.Chmod(p, c.old); err != nil {
				t.Fatal(err)
			}
			if err := Replace(p, []byte("port: 27002\n")); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if st, _ := os.Stat(p); string(got) != "port: 27002\n" || st.Mode().Perm() != c.want {
				t.Fatalf("%q %v, want mode %v", got, st.Mode(), c.want)
			}
			assertNoTemp(t, dir, 1)
		})
	}
}

func assertNoTemp(t *testing.T, dir string, want int) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	if len(ents) != want {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("dir holds %v, want %d file(s): a temp file was left", names, want)
	}
}
