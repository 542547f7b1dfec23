package units

import (
	"testing"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

var benchConfig = Config{
	Layout:    layout.Layout{ConfigDir: "/etc/left4me", Root: "/var/lib/left4me"},
	HelperDir: "/usr/lib/left4me",
}

var benchSpec = &spec.Spec{
	Port:      20007,
	Autostart: true,
	Arguments: []string{"+map", "c1m1_hotel", "-tickrate", "100", "+hostname", "Bench server 7"},
	Config:    []string{"exec server_overlay_12", `hostname "Bench server 7"`, "sv_maxplayers 8"},
	Overlays:  []spec.Overlay{{Path: "competitive", Alias: "overlay_12"}, {Path: "workshop/maps"}},
}

// BenchmarkRenderDropIn is the per-instance work of the generator's output
// side (one drop-in per valid spec).
func BenchmarkRenderDropIn(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if len(RenderDropIn(benchConfig, "srv7", benchSpec)) == 0 {
			b.Fatal("empty")
		}
	}
}

func BenchmarkRenderTemplate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if len(RenderTemplate(benchConfig)) == 0 {
			b.Fatal("empty")
		}
	}
}

func BenchmarkQuoteArg(b *testing.B) {
	for _, c := range []struct{ name, arg string }{
		{"plain", "c1m1_hotel"},
		{"quoted", `Bench "server" 100%`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = QuoteArg(c.arg)
			}
		})
	}
}
