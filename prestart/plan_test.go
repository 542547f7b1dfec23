package prestart

import (
	"testing"

	"github.com/left4me/left4me/spec/startplan"
)

func TestServerCfg(t *testing.T) {
	ov := []startplan.Overlay{{Path: "top", Alias: "a"}, {Path: "mid"}, {Path: "low", Alias: "c"}}
	cases := []struct {
		name  string
		s     startplan.Plan
		want  string
		nAuto int
	}{
		{"no overlays", startplan.Plan{Config: []string{"sv_cheats 0"}}, "sv_cheats 0\n", 0},
		{"empty", startplan.Plan{}, "", 0},
		{"lowest first", startplan.Plan{Overlays: ov, Config: []string{"x"}}, "exec server_c\nexec server_a\nx\n", 2},
		{"already there", startplan.Plan{Overlays: ov, Config: []string{"exec server_c", "x"}}, "exec server_a\nexec server_c\nx\n", 1},
		{"quoted with suffix", startplan.Plan{Overlays: ov, Config: []string{`EXEC "server_a.cfg"`, `exec server_c.cfg`}},
			"EXEC \"server_a.cfg\"\nexec server_c.cfg\n", 0},
		{"other file not counted", startplan.Plan{Overlays: ov, Config: []string{"exec server_cc"}},
			"exec server_c\nexec server_a\nexec server_cc\n", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, n := ServerCfg(c.s)
			if got != c.want || n != c.nAuto {
				t.Fatalf("got %q (%d auto), want %q (%d)", got, n, c.want, c.nAuto)
			}
		})
	}
}
