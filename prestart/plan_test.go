package prestart

import (
	"testing"

	"github.com/left4me/left4me/spec"
)

func TestServerCfg(t *testing.T) {
	ov := []spec.Overlay{{Path: "top", Alias: "a"}, {Path: "mid"}, {Path: "low", Alias: "c"}}
	cases := []struct {
		name  string
		s     spec.Spec
		want  string
		nAuto int
	}{
		{"no overlays", spec.Spec{Config: []string{"sv_cheats 0"}}, "sv_cheats 0\n", 0},
		{"empty", spec.Spec{}, "", 0},
		{"lowest first", spec.Spec{Overlays: ov, Config: []string{"x"}}, "exec server_c\nexec server_a\nx\n", 2},
		{"already there", spec.Spec{Overlays: ov, Config: []string{"exec server_c", "x"}}, "exec server_a\nexec server_c\nx\n", 1},
		{"quoted with suffix", spec.Spec{Overlays: ov, Config: []string{`EXEC "server_a.cfg"`, `exec server_c.cfg`}},
			"EXEC \"server_a.cfg\"\nexec server_c.cfg\n", 0},
		{"other file not counted", spec.Spec{Overlays: ov, Config: []string{"exec server_cc"}},
			"exec server_c\nexec server_a\nexec server_cc\n", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n := ServerCfg(&c.s)
			if got != c.want || n != c.nAuto {
				t.Fatalf("got %q (%d auto), want %q (%d)", got, n, c.want, c.nAuto)
			}
		})
	}
}
