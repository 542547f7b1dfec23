package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/spec/spectest"
)

// benchSpec is a spec as the web front end writes it, the input of the
// generator comparison in tests/bench.
var benchSpec = spectest.FrontEnd(7)

// bigSpec has MaxOverlays-sized lists: the worst a valid spec makes Parse do.
func bigSpec() []byte {
	var b strings.Builder
	b.WriteString("port: 27015\nautostart: true\narguments:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - \"+sv_arg%d value %d\"\n", i, i)
	}
	b.WriteString("config:\n")
	for i := range 50 {
		fmt.Fprintf(&b, "  - 'sm_cvar c%d \"%d\"'\n", i, i)
	}
	b.WriteString("overlays:\n")
	for i := range MaxOverlays {
		fmt.Fprintf(&b, "  - {path: mods/ov%03d, alias: ov%03d}\n", i, i)
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	data := []byte(benchSpec)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("srv7.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMaxOverlays(b *testing.B) {
	data := bigSpec()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("big.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseInvalid: a spec with several problems, each formatted
// with its location (the generator's path for a broken spec).
func BenchmarkParseInvalid(b *testing.B) {
	data := []byte("port: 0\nautostart: 1\noverlays: [/x, a/../b, {path: c, alias: \"x y\"}]\nmaxplayers: 8\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bad.yaml", data); err == nil {
			b.Fatal("no error")
		}
	}
}

func BenchmarkReadFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "srv7.yaml")
	if err := os.WriteFile(p, []byte(benchSpec), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadFile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadAll is the generator's whole input side: list, read and
// parse N specs, then the cross-spec port check.
func BenchmarkLoadAll(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			for i := range n {
				text := strings.Replace(benchSpec, "port: 20007", fmt.Sprintf("port: %d", 20000+i), 1)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("srv%d.yaml", i)), []byte(text), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				all, err := LoadAll(dir)
				if err != nil || len(all) != n || all[0].Err != nil {
					b.Fatalf("%d instances, %v", len(all), err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/spec")
		})
	}
}

// hostileSpecs are 1 MiB specs of the shapes that made parsing quadratic
// (a long flow list, many keys, many errors), plus deep nesting and a long
// scalar: the generator parses them synchronously under PID 1, so each
// must be accepted or refused in well under 100 ms.
func hostileSpecs() map[string][]byte {
	const size = MaxSpecSize - 64
	fill := func(head, item, tail string) []byte {
		var b strings.Builder
		b.WriteString(head)
		for b.Len()+len(item)+len(tail) < size {
			b.WriteString(item)
		}
		b.WriteString(tail)
		return []byte(b.String())
	}
	return map[string][]byte{
		"flow list":  fill("port: 27015\nconfig: [", "a,", "a]\n"),
		"block list": fill("port: 27015\nconfig:\n", "  - sv_cheats 0\n", ""),
		"many keys":  fill("port: 27015\n", "k: 1\n", ""),
		"many bad":   fill("port: 27015\narguments: [", "{a: b},", "x]\n"),
		"nesting":    fill("port: 27015\nx: ", "[", ""),
		"one scalar": fill("port: 27015\nconfig: ['", "x", "']\n"),
		"percents":   fill("port: 27015\narguments: ['", "%", "']\n"),
		// Just under the separator limit, the rest of the MiB in items.
		"flow list at the limit": []byte("port: 27015\nconfig: [" + strings.Repeat(strings.Repeat("a", 50)+",", maxSeparators-10) + "a]\n"),
		"keys at the limit":      []byte("port: 27015\n" + strings.Repeat("k: "+strings.Repeat("v", 45)+"\n", maxSeparators-10)),
	}
}

func BenchmarkParseHostile(b *testing.B) {
	for name, data := range hostileSpecs() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _ = Parse("x.yaml", data)
			}
		})
	}
}
