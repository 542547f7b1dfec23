package web

import (
	"bytes"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec"
)

func TestCheckSpec(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		text    string
		line    int // of the first problem; 0 = valid
		config  []string
		auto    int
		exposed []bool
	}{
		{name: "valid, exec lines lowest first",
			text:    "port: 27015\noverlays:\n  - {path: top, alias: top}\n  - mid\n  - {path: low, alias: low}\nconfig:\n  - sv_cheats 0\n",
			config:  []string{"exec server_low", "exec server_top", "sv_cheats 0"},
			auto:    2,
			exposed: []bool{true, false, true}},
		{name: "unknown key on its line", text: "port: 27015\nconfig:\n  - a\nbogus: 1\n", line: 4},
		{name: "bad port on its line", text: "overlays: []\nport: 99\n", line: 2},
		{name: "bad alias", text: "port: 27015\noverlays:\n  - {path: a, alias: \"x y\"}\n", line: 3},
		{name: "not yaml", text: "port: [\n", line: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CheckSpec("srv1", filepath.Join(dir, "srv1.yaml"), dir, []byte(tt.text), nil)
			if tt.line == 0 {
				if !c.Valid || len(c.Problems) != 0 {
					t.Fatalf("problems: %+v", c.Problems)
				}
				if !slices.Equal(c.Config, tt.config) || c.Auto != tt.auto {
					t.Errorf("config %q auto %d, want %q %d", c.Config, c.Auto, tt.config, tt.auto)
				}
				var exp []bool
				for _, o := range c.Overlays {
					exp = append(exp, o.Expose)
				}
				if !slices.Equal(exp, tt.exposed) {
					t.Errorf("exposed %v, want %v", exp, tt.exposed)
				}
				return
			}
			if c.Valid || len(c.Problems) == 0 || c.Problems[0].Line != tt.line {
				t.Fatalf("problems %+v, want one on line %d", c.Problems, tt.line)
			}
			if want := filepath.Join(dir, "srv1.yaml") + ":" + strconv.Itoa(tt.line) + ":"; !strings.HasPrefix(c.Problems[0].Text, want) {
				t.Errorf("text %q, want prefix %q", c.Problems[0].Text, want)
			}
		})
	}
}

func TestExpose(t *testing.T) {
	base := "port: 27015 # game\noverlays:\n  - competitive # top\n  - {path: maps/big-pack, alias: maps}\n"
	tests := []struct {
		name    string
		index   int
		on      bool
		want    []string // the aliases after, "" for none
		wantErr bool
	}{
		{name: "tick a bare path", index: 0, on: true, want: []string{"competitive", "maps"}},
		{name: "untick", index: 1, on: false, want: []string{"", ""}},
		{name: "tick again keeps the alias", index: 1, on: true, want: []string{"", "maps"}},
		{name: "untick a bare path is a no-op", index: 0, on: false, want: []string{"", "maps"}},
		{name: "no such overlay", index: 2, on: true, wantErr: true},
		{name: "negative", index: -1, on: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Expose([]byte(base), tt.index, tt.on)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted:\n%s", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := CheckSpec("srv1", "/x/srv1.yaml", t.TempDir(), out, nil)
			if !c.Valid {
				t.Fatalf("result invalid: %+v\n%s", c.Problems, out)
			}
			var got []string
			for _, o := range c.Overlays {
				got = append(got, o.Alias)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("aliases %q, want %q:\n%s", got, tt.want, out)
			}
			if !strings.Contains(string(out), "# game") {
				t.Errorf("comment lost:\n%s", out)
			}
		})
	}
	if _, err := Expose([]byte("port: [\n"), 0, true); err == nil {
		t.Error("broken YAML accepted")
	}
	// A byte-order mark stays first, and the text after it is edited.
	out, err := Expose([]byte(spec.BOM+base), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte(spec.BOM)) || !strings.Contains(string(out), "alias: competitive") || strings.Count(string(out), spec.BOM) != 1 {
		t.Errorf("with a byte-order mark:\n%q", out)
	}
}

func TestAliasFor(t *testing.T) {
	for path, want := range map[string]string{
		"competitive": "competitive", "maps/big-pack": "big_pack", "a/B.c": "b_c",
	} {
		if got := aliasFor(path, 3); got != want {
			t.Errorf("aliasFor(%q) = %q, want %q", path, got, want)
		}
	}
}

// With a judge (what saving applies), its verdict is the check's: a port
// a running server holds, which the other specs alone do not show.
func TestCheckSpecJudged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srv1.yaml")
	held := &spec.Error{File: path, Line: 1, Column: 7, Msg: "port 27015 is held by the running server old"}
	var judged string
	c := CheckSpec("srv1", path, dir, []byte("port: 27015\n"), func(name, p string, data []byte) error {
		judged = name + " " + p + " " + string(data)
		return held
	})
	if judged != "srv1 "+path+" port: 27015\n" || c.Valid || len(c.Problems) != 1 || c.Problems[0].Line != 1 || !strings.Contains(c.Problems[0].Text, "held by the running server old") {
		t.Errorf("judged %q: %+v", judged, c)
	}
	// Not parsed: the parser's problems, the judge not asked.
	judged = ""
	if c := CheckSpec("srv1", path, dir, []byte("port: [\n"), func(string, string, []byte) error { judged = "asked"; return nil }); c.Valid || judged != "" {
		t.Errorf("judged %q: %+v", judged, c)
	}
}
