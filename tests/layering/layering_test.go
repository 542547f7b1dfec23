// Package layering checks the direction of imports docs/ARCHITECTURE.md
// documents ("Which way imports point"): make lint runs it, so a package
// that imports across the direction fails the build, not a review.
package layering

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/left4me/left4me/"

// rooms says, per room (a package path prefix below the module; the
// longest one that matches a package is its room), which rooms of ours
// its non-test files may import. A room may always import itself.
type room struct {
	room string
	may  []string
	why  string
}

var rooms = [...]room{
	{room: "spec/layout", may: nil, why: "the names of things: everyone links it"},
	{room: "spec/specfile", may: nil, why: "reading a spec-like file: everyone links it"},
	{room: "spec/startplan", may: []string{"spec/layout", "spec/specfile"}, why: "the start helper reads it and links no YAML"},
	{room: "spec", may: []string{"spec/"}, why: "the spec schema stands on its own"},
	{room: "units", may: []string{"spec"}, why: "the generator's text links no helper's runtime"},
	{room: "generator", may: []string{"spec", "units"}, why: "the generator runs at every daemon-reload"},
	{room: "prestart", may: []string{"prestart/", "spec/layout", "spec/specfile", "spec/startplan"},
		why: "the start path stays small: no spec parser, no YAML"},
	{room: "cmd/a2s", may: nil, why: "the A2S protocol: the relay, the CLI and the stand-in speak it"},
	{room: "cmd/internal", may: []string{"cmd/internal/", "cmd/a2s", "spec/layout"},
		why: "what several binaries share; the relay links it, so no mount, start-plan or spec code"},
	{room: "cmd/left4me/internal", may: []string{"cmd/left4me/internal/", "cmd/internal/", "cmd/a2s", "spec", "units", "generator", "prestart"},
		why: "the CLI stands on everything below it"},
	{room: "cmd/", may: []string{"cmd/", "spec", "units", "generator", "prestart"}, why: "the mains are thin"},
}

// binaries says what each helper must not link (go list -deps), whatever
// imports it: what runs at every start, or beside every server, stays
// small.
var binaries = [...]struct {
	cmd     string
	mayLink []string // prefixes of ours; nil: any of ours
	never   []string // import paths, ours or not; one ending in "/" covers all below it
}{
	{cmd: "cmd/left4me-relay", mayLink: []string{"cmd/left4me-relay", "cmd/internal/", "cmd/a2s", "spec/layout"}, never: []string{"gopkg.in/yaml.v3"}},
	{cmd: "cmd/left4me-prestart", never: []string{"gopkg.in/yaml.v3", module + "spec", module + "units", module + "generator", module + "cmd/left4me/"}},
	{cmd: "cmd/left4me-poststop", never: []string{"gopkg.in/yaml.v3", module + "spec", module + "units", module + "generator", module + "cmd/left4me/"}},
	{cmd: "cmd/left4me-generator", never: []string{module + "prestart", module + "prestart/", module + "cmd/internal/", module + "cmd/left4me/"}},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json=ImportPath,Imports,Deps"}, patterns...)...)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var ps []pkg
	for d := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := d.Decode(&p); errors.Is(err, io.EOF) {
			return ps
		} else if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
}

// under reports whether rel (a path below the module) is prefix itself,
// or below it when prefix ends in "/".
func under(rel, prefix string) bool {
	if strings.HasSuffix(prefix, "/") {
		return strings.HasPrefix(rel, prefix)
	}
	return rel == prefix || strings.HasPrefix(rel, prefix+"/")
}

// roomOf is the longest room that holds rel.
func roomOf(rel string) int {
	best := -1
	for i, r := range rooms {
		if under(rel, r.room) {
			if best < 0 || len(r.room) > len(rooms[best].room) {
				best = i
			}
		}
	}
	return best
}

// Every product package imports only the rooms its own room may.
func TestImportDirection(t *testing.T) {
	ps := list(t, "./cmd/...", "./generator/...", "./prestart/...", "./spec/...", "./units/...")
	if len(ps) < 20 {
		t.Fatalf("go list found %d packages; run from the repository", len(ps))
	}
	for _, p := range ps {
		rel := strings.TrimPrefix(p.ImportPath, module)
		i := roomOf(rel)
		if i < 0 {
			t.Errorf("%s: in no room of docs/ARCHITECTURE.md; add it to rooms here and to the document", rel)
			continue
		}
		r := rooms[i]
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			irel := strings.TrimPrefix(imp, module)
			if strings.HasPrefix(irel, "tests/") {
				t.Errorf("%s imports %s: product code never links test helpers", rel, irel)
				continue
			}
			ok := under(irel, r.room) || slices.ContainsFunc(r.may, func(m string) bool { return under(irel, m) })
			if !ok {
				t.Errorf("%s imports %s: room %s may import only %v (%s); see docs/ARCHITECTURE.md", rel, irel, r.room, r.may, r.why)
			}
		}
	}
}

// The helpers link only what their start path needs.
func TestBinaryLinks(t *testing.T) {
	for _, b := range binaries {
		ps := list(t, "./"+b.cmd)
		if len(ps) != 1 {
			t.Fatalf("%s: go list gave %d packages", b.cmd, len(ps))
		}
		for _, d := range ps[0].Deps {
			if err := checkLink(b.cmd, d, b.mayLink, b.never); err != nil {
				t.Error(err)
			}
		}
	}
}

func checkLink(cmd, dep string, mayLink, never []string) error {
	for _, n := range never {
		if dep == n || strings.HasSuffix(n, "/") && strings.HasPrefix(dep, n) {
			return fmt.Errorf("%s links %s, which it must never", cmd, dep)
		}
	}
	if mayLink == nil || !strings.HasPrefix(dep, module) {
		return nil
	}
	rel := strings.TrimPrefix(dep, module)
	if !slices.ContainsFunc(mayLink, func(m string) bool { return under(rel, m) }) {
		return fmt.Errorf("%s links %s; of ours it may link only %v", cmd, rel, mayLink)
	}
	return nil
}

// The check itself: an import across the direction is caught.
func TestRulesCatch(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		bad      bool
	}{
		{"units", "prestart/rundir", true},
		{"units", "spec/layout", false},
		{"spec/layout", "spec", true},
		{"prestart", "spec", true},
		{"prestart/rundir", "spec/layout", false},
		{"cmd/internal/relay", "prestart", true},
		{"cmd/internal/probe", "cmd/a2s", false},
		{"cmd/left4me/internal/state", "prestart/rundir", false},
		{"generator", "cmd/left4me/internal/fail", true},
	} {
		r := rooms[roomOf(tc.from)]
		ok := under(tc.to, r.room) || slices.ContainsFunc(r.may, func(m string) bool { return under(tc.to, m) })
		if ok == tc.bad {
			t.Errorf("%s importing %s: allowed=%v, want %v", tc.from, tc.to, ok, !tc.bad)
		}
	}
	if checkLink("cmd/left4me-relay", module+"prestart", []string{"cmd/internal/"}, nil) == nil {
		t.Error("the relay linking prestart passed")
	}
}

// commandRank orders the CLI's command packages: each embeds the Env of
// the one below it (docs/ARCHITECTURE.md), so it may import only packages
// of a lower rank; the root wires them all.
func commandRank(rel string) (int, bool) {
	const base = "cmd/left4me/internal/commands"
	if rel == base {
		return 5, true
	}
	sub, ok := strings.CutPrefix(rel, base+"/")
	if !ok {
		return 0, false
	}
	switch sub {
	case "clienv":
		return 0, true
	case "console":
		return 1, true
	case "unitctl":
		return 2, true
	case "dayops":
		return 3, true
	case "servers", "specs", "game", "overlay":
		return 4, true
	}
	return -1, true // a new command package: give it a rank here
}

// Command packages import downward only: clienv → console → unitctl →
// dayops → servers, specs, game, overlay → the root.
func TestCommandsDirection(t *testing.T) {
	for _, p := range list(t, "./cmd/left4me/internal/commands/...") {
		rel := strings.TrimPrefix(p.ImportPath, module)
		r, _ := commandRank(rel)
		if r < 0 {
			t.Errorf("%s: no rank in commandRank", rel)
			continue
		}
		for _, imp := range p.Imports {
			ir, ok := commandRank(strings.TrimPrefix(imp, module))
			if ok && ir >= r {
				t.Errorf("%s imports %s: command packages import only those below them (clienv → console → unitctl → dayops → the rest)", rel, strings.TrimPrefix(imp, module))
			}
		}
	}
	if r1, _ := commandRank("cmd/left4me/internal/commands/clienv"); r1 != 0 {
		t.Fatal("clienv is not the lowest")
	}
	if a, _ := commandRank("cmd/left4me/internal/commands/unitctl"); a >= 3 {
		t.Fatal("unitctl may import dayops")
	}
}
