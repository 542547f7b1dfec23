package layout

import (
	"strings"
	"testing"
)

func FuzzValidateName(f *testing.F) {
	for _, seed := range []string{"srv1", "..", "a/b", "", "-x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		if name == "." || name == ".." || strings.ContainsAny(name, "/\x00.\n") || len(name) > MaxNameLen {
			t.Fatalf("unsafe name accepted: %q", name)
		}
	})
}

func BenchmarkValidateName(b *testing.B) {
	for b.Loop() {
		if err := ValidateName("My_Server-2"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateOverlayPath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if msg := ValidateOverlayPath("workshop/maps/campaign_1"); msg != "" {
			b.Fatal(msg)
		}
	}
}
