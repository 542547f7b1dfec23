package vdf

import (
	"strings"
	"testing"
)

const manifest = `"AppState"
{
	"appid"		"222860"
	"name"		"Left 4 Dead 2 Dedicated Server"
	"StateFlags"		"4"
	"buildid"		"16063936"
	// a comment
	"InstalledDepots"
	{
		"222861"
		{
			"manifest"		"123"
		}
	}
	"UserConfig" [$WIN32]
	{
		"language"		"english"
	}
	"escaped"	"a \"b\" \\ c"
	bare	word
}
`

func TestParse(t *testing.T) {
	root, err := Parse(manifest)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path []string
		want string
		ok   bool
	}{
		{[]string{"AppState", "buildid"}, "16063936", true},
		{[]string{"appstate", "STATEFLAGS"}, "4", true},
		{[]string{"AppState", "InstalledDepots", "222861", "manifest"}, "123", true},
		{[]string{"AppState", "UserConfig", "language"}, "english", true},
		{[]string{"AppState", "escaped"}, `a "b" \ c`, true},
		{[]string{"AppState", "bare"}, "word", true},
		{[]string{"AppState", "InstalledDepots"}, "", false}, // a block
		{[]string{"AppState", "nope"}, "", false},
		{[]string{"nope", "buildid"}, "", false},
	}
	for _, c := range cases {
		got, ok := root.Lookup(c.path...)
		if got != c.want || ok != c.ok {
			t.Errorf("%v: got %q %v, want %q %v", c.path, got, ok, c.want, c.ok)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`"a" {`, "line 1: missing }"},
		{"\"a\"\n\"b\"\n}", "line 3: } without {"},
		{`{`, "{ without a key"},
		{`"a"`, `key "a" has no value`},
		{`"a" "b`, "unterminated quoted string"},
		{`"a" [$X`, "unterminated [condition]"},
		{strings.Repeat(`"a" {`, maxDepth+2), "nested deeper than"},
	}
	for _, c := range cases {
		if _, err := Parse(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(manifest)
	f.Add(`"a" { "b" "c" }`)
	f.Fuzz(func(t *testing.T, s string) {
		root, err := Parse(s)
		if err == nil && root == nil {
			t.Fatal("nil root without error")
		}
	})
}
