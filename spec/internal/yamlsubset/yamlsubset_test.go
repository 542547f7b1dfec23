package yamlsubset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// typicalSpec is what the web front end writes.
const typicalSpec = `# managed by the front end
port: 27015
autostart: true
arguments: ["+map", "c1m1_hotel", "-tickrate", "100", "+sv_lan", "0"]
config:
  - 'hostname "Server 1"'
  - sv_maxplayers 8
  - 'sv_tags "left4me"'
overlays:
  - {path: competitive, alias: overlay_12}
  - workshop/maps
resources:
  memory_max: 2G
`

// accepted must parse, to yaml.v3's tree.
var accepted = []string{
	typicalSpec,
	"port: 27015",
	"port: 27015\n",
	"port: 1\narguments:\nconfig: []\n",
	"a: {}\nb: []\nc: [[]]\nd: [{}]\n",
	"\n\n# head\n\nport: 1 # trailing\n\n# foot\n",
	"  port: 1\n  autostart: false\n",
	"overlays:\n- a\n- b\nport: 2\n",
	"overlays:\n  - a\n  -   b\n",
	"overlays:\n  - path: x\n    alias: y\n  - z\n  - {path: q}\n",
	"overlays:\n- path: x\n  alias: y\n- path: z\n",
	"overlays: [{path: a, alias: b}, c, 'd', \"e\"]\n",
	"x: [a, [b, c], {d: [e, f]}]\n",
	"resources:\n  memory_max: 2G\n  cpu_quota: 150%\n  cpu_weight: 200\n  cpu_affinity: 0-1,3\n  nice: -5\n",
	"a:\n  b:\n    c: 1\n    d:\n      - e\n  f: g\nh: i\n",
	"x:\n  - a:\n    - y\n",
	"l:\n- a:\n  - x\n  b: c\n- d:\n    e: f\n",
	"a:   # comment\n  b: 1\n",
	"a:\n# at column 0\n  b: 1\n    # deeper\n  c: 2\n",
	"a: 1\n   # indented comment\nb: 2\n",
	"a:\nb:   \nc: # x\n",
	"a : 1\nb  :  2\n",
	"key with spaces: value with  spaces\n",
	"a: b#c\nd: e # f\ng: h:i\n",
	"a: b, c [d] {e}\n",
	"a: [b c, d  e]\n",
	"hostname: \"Мой сервер\" # x\nnext: ['Мой', c, \"ä\"]\nz: {ключ: значение, b: c}\n",
	"ключ: значение\n",
	"a: 'it''s'\nb: ''\nc: ''''\nd: \"\"\n",
	`a: "\0\a\b\t\n\v\f\r\e\ \"\\\N\_\L\P\x41\u00e9\U0001F600\'"` + "\n",
	`a: "tab\there" # x` + "\n",
	"n: [~, null, Null, NULL, true, True, TRUE, false, False, FALSE]\n",
	"n: [yes, no, on, off, y, n, Yes]\n",
	"i: [0, 1, -1, +1, 27015, 0x1F, 0o17, 017, 0b101, 1_000, -0b11, -0o7, 089, 9223372036854775808, 18446744073709551616]\n",
	"f: [1.5, -1.5, .5, 1e3, 1.e3, +.inf, -.INF, .nan, .NaN, 1.5_0, .1_0, 1e]\n",
	"s: [-tickrate, +map, 150%, 2G, 10M, c1m1_hotel, workshop/maps, ./a, a/../b, .git, -., 1-2, 3-1, 0x, 0b2, 0o9]\n",
	"<<: {a: b}\nc: <<\nd: '<<'\n",
	"1: a\ntrue: b\n~: c\n1.5: d\n",
	"a: -x\nb: --x\nc: -1\n",
	"a: [-x, -1]\n",
	"a: x\n\n\n",
	"a: [a, b] # c\nb: {a: b}   # c\nc: 'x' # c\nd: \"y\"  # c\n",
	"😀: 😀\nb: [😀, x]\n",
}

// declined must not be accepted (yaml.v3 fails, or it is outside the subset).
var declined = []string{
	"",
	"# only a comment\n",
	"- a\n- b\n",
	"plain scalar\n",
	"port: &a 1\nautostart: *a\n",
	"port: !!str 1\n",
	"%YAML 1.2\n---\nport: 1\n",
	"---\nport: 1\n",
	"port: 1\n---\nport: 2\n",
	"port: 1\n...\n",
	"a: |\n  x\n",
	"a: >\n  x\n",
	"a: multi\n  line\n",
	"a: 'multi\n  line'\n",
	"a: \"multi\n  line\"\n",
	"a: [b,\n  c]\n",
	"a:\n  b\n",
	"a: x\n# c\n  d\n",
	"a:\tb\n",
	"a: b\r\n",
	"\ufeffa: b\n",
	"a: \"x\\\ny\"\n",
	"a: \"\\q\"\n",
	"a: \"\\/\"\n",
	"a: \"\\ud800\"\n",
	"a: \"\\U00110000\"\n",
	"a: \"\\x4\"\n",
	"a: b: c\n",
	"a: - b\n",
	"? a\n: b\n",
	"a:\n-\n",
	"a:\n- \n",
	"a:\n- # c\n  b\n",
	"a:\n- - b\n",
	"a: [b,]\n",
	"a: [,b]\n",
	"a: [b: c]\n",
	"a: {b}\n",
	"a: {b: }\n",
	"a: {b:c}\n",
	"a: {\"b\": c}\n",
	"a: [b #c\n]\n",
	"a: [b]#c\n",
	"a: 'b'#c\n",
	"a: 'b' c\n",
	"a: b\n  c: d\n",
	"a:\n  b: 1\n c: 2\n",
	"a:\n   - x\n  - y\n",
	"a:\n  - x\n  b: 1\n",
	"a: 1\n- x\n",
	"a: 2001-12-14\n",
	"a: 2001-12-14t21:59:43.10-05:00\n",
	"a: x\n  b\n",
	"a: \x01\n",
	"a: \xff\n",
	"a: \u2028\n",
	"a: \u0085\n",
	"\"a\": b\n",
	"'a': b\n",
	"- a: b\n",
	"a: `x`\n",
	"a: @x\n",
	"a: ?x\n",
	"a: :x\n",
	"a: x\n b: y\n",
	strings.Repeat("k", maxKeyLen+1) + ": v\n",
	// yaml.v3 fails: over 1024 characters from a key's start to its ':'.
	"a" + strings.Repeat(" ", 1100) + ": b\n",
	"x: {a" + strings.Repeat(" ", 1100) + ": b}\n",
	"x:\n- a" + strings.Repeat(" ", 1100) + ": b\n",
	"a: " + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + "\n",
}

func TestAccepted(t *testing.T) {
	for _, in := range accepted {
		got, ok := Parse([]byte(in))
		if !ok {
			t.Errorf("declined %q", in)
			continue
		}
		want, err := decodeV3([]byte(in))
		if err != nil {
			t.Errorf("accepted %q, yaml.v3: %v", in, err)
			continue
		}
		if d := diff(got, want, "doc"); d != "" {
			t.Errorf("%q: %s", in, d)
		}
	}
}

func TestDeclined(t *testing.T) {
	for _, in := range declined {
		if doc, ok := Parse([]byte(in)); ok || doc != nil {
			t.Errorf("accepted %q", in)
		}
	}
}

// TestRealistic: what specs look like must take the fast path.
func TestRealistic(t *testing.T) {
	example, err := os.ReadFile("../../../packaging/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]byte{"typical": []byte(typicalSpec), "example.yaml": example} {
		got, ok := Parse(in)
		if !ok {
			t.Errorf("%s declined", name)
			continue
		}
		want, err := decodeV3(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := diff(got, want, "doc"); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}

// TestContentIsolated: appending to one node's Content must not change a
// neighbour's (the slices share one array).
func TestContentIsolated(t *testing.T) {
	doc, ok := Parse([]byte("a: [x, y]\nb: [z]\n"))
	if !ok {
		t.Fatal("declined")
	}
	m := doc.Content[0]
	a, b := m.Content[1], m.Content[3]
	a.Content = append(a.Content, &yaml.Node{Value: "new"})
	if b.Content[0].Value != "z" || m.Content[2].Value != "b" {
		t.Fatal("append overwrote a neighbour")
	}
}

func TestYAMLStyleFloat(t *testing.T) {
	re := regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
	parts := []string{"", "-", "+", ".", "1", "12", "e", "E", "x", "0"}
	// All strings of up to 5 parts: 10^5 cases, a few ms.
	var walk func(s string, n int)
	walk = func(s string, n int) {
		if got, want := yamlStyleFloat(s), re.MatchString(s); got != want {
			t.Fatalf("yamlStyleFloat(%q) = %v, regexp says %v", s, got, want)
		}
		if n == 0 {
			return
		}
		for _, p := range parts[1:] {
			walk(s+p, n-1)
		}
	}
	walk("", 5)
}

// FuzzParse is the differential check: whatever Parse accepts, yaml.v3
// decodes as exactly one document, into the same tree.
func FuzzParse(f *testing.F) {
	for _, s := range accepted {
		f.Add([]byte(s))
	}
	for _, s := range declined {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := Parse(data)
		if !ok {
			if got != nil {
				t.Fatal("declined with a node")
			}
			return
		}
		want, err := decodeV3(data)
		if err != nil {
			t.Fatalf("accepted, but yaml.v3: %v", err)
		}
		if d := diff(got, want, "doc"); d != "" {
			t.Fatal(d)
		}
		// Not correctness, cost: Parse allocates nodes once when it holds.
		if est, _ := scanText(data); countNodes(got) > est {
			t.Fatalf("%d nodes, estimated %d", countNodes(got), est)
		}
		// Reused buffers, dirtied by a bigger document first, give the
		// same tree.
		var b Buffers
		if _, ok := ParseInto(&b, []byte(dirty)); !ok {
			t.Fatal("the dirty document was declined")
		}
		again, ok := ParseInto(&b, data)
		if !ok {
			t.Fatal("declined with reused buffers")
		}
		if d := diff(again, want, "doc"); d != "" {
			t.Fatal("reused buffers: " + d)
		}
	})
}

// dirty fills Buffers with nodes that have Content, styles and tags.
const dirty = "a: {b: [c, 'd', \"e\"], f: [[g], {h: i}]}\nj:\n  - k: l\n    m: [1, 2, 3]\n  - null\nn: true\n"

func countNodes(n *yaml.Node) int {
	c := 1
	for _, k := range n.Content {
		c += countNodes(k)
	}
	return c
}

// decodeV3 is what spec.Parse does with yaml.v3, insisting on one document.
func decodeV3(data []byte) (doc *yaml.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml.v3 panicked: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("second Decode: %v (want io.EOF)", err)
	}
	return doc, nil
}

// diff names the first field in which got and want differ, comments aside.
func diff(got, want *yaml.Node, path string) string {
	if (got == nil) != (want == nil) {
		return fmt.Sprintf("%s: node %v, want %v", path, got != nil, want != nil)
	}
	if got == nil {
		return ""
	}
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Kind", got.Kind, want.Kind},
		{"Style", got.Style, want.Style},
		{"Tag", got.Tag, want.Tag},
		{"Value", got.Value, want.Value},
		{"Anchor", got.Anchor, want.Anchor},
		{"Line", got.Line, want.Line},
		{"Column", got.Column, want.Column},
		{"Alias", got.Alias != nil, want.Alias != nil},
		{"len(Content)", len(got.Content), len(want.Content)},
		{"Content==nil", got.Content == nil, want.Content == nil},
	} {
		if f.got != f.want {
			return fmt.Sprintf("%s.%s = %#v, want %#v", path, f.name, f.got, f.want)
		}
	}
	for i := range got.Content {
		if d := diff(got.Content[i], want.Content[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
			return d
		}
	}
	return ""
}

func BenchmarkParse(b *testing.B) {
	data := []byte(typicalSpec)
	b.Run("subset", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := Parse(data); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeV3(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRandomDocuments complements FuzzParse, whose byte mutations seldom
// make new valid layouts: it generates spec-like documents (some with
// indentation mistakes) and checks every accepted one against yaml.v3.
func TestRandomDocuments(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for i := range n {
		g := &docGen{r: r}
		g.mapping(0, 0)
		data := g.b.Bytes()
		got, ok := Parse(data)
		if !ok {
			continue
		}
		accepted++
		want, err := decodeV3(data)
		if err != nil {
			t.Fatalf("doc %d accepted, yaml.v3: %v\n%s", i, err, data)
		}
		if d := diff(got, want, "doc"); d != "" {
			t.Fatalf("doc %d: %s\n%s", i, d, data)
		}
	}
	t.Logf("%d of %d accepted", accepted, n)
	if accepted < n/4 {
		t.Errorf("only %d of %d accepted", accepted, n)
	}
}

type docGen struct {
	r *rand.Rand
	b bytes.Buffer
}

var (
	genKeys    = []string{"port", "a", "key with space", "1", "true", "~", "<<", "-x", "ключ", "x_1"}
	genPlain   = []string{"a", "b c", "27015", "-tickrate", "+map", "150%", "2G", "0x1F", "1_000", "089", "1e3", ".5", "true", "yes", "~", "null", "<<", "a#b", "Мой", "😀", "0o17", "-0b11", "1.", "-1", ".git", "+.inf", "0b2", "3-1", "workshop/maps"}
	genQuoted  = []string{`'q''s'`, `''`, `"e\n\x41"`, `"Мой сервер"`, `'a: b, c'`, `"\u00e9\U0001F600"`, `"#"`, `'[x]'`}
	genBlockOK = []string{"a:b", "b, c", "x [y]", "a - b", "2001-01-01"}
)

func (g *docGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// indent writes a line's indentation, now and then off by one.
func (g *docGen) indent(n int) {
	if g.r.IntN(40) == 0 {
		n += g.r.IntN(3) - 1
	}
	g.b.WriteString(strings.Repeat(" ", max(n, 0)))
}

// filler sometimes writes blank and comment lines.
func (g *docGen) filler() {
	for g.r.IntN(6) == 0 {
		if g.r.IntN(2) == 0 {
			g.b.WriteString("\n")
		} else {
			g.b.WriteString(strings.Repeat(" ", g.r.IntN(5)) + "# c\n")
		}
	}
}

func (g *docGen) eol() {
	if g.r.IntN(5) == 0 {
		g.b.WriteString(strings.Repeat(" ", 1+g.r.IntN(2)) + "# t")
	}
	g.b.WriteString("\n")
}

func (g *docGen) scalar(flow bool) string {
	switch g.r.IntN(4) {
	case 0:
		return g.pick(genQuoted)
	case 1:
		if !flow {
			return g.pick(genBlockOK)
		}
	}
	return g.pick(genPlain)
}

func (g *docGen) flow(depth int) string {
	sp := func() string { return strings.Repeat(" ", g.r.IntN(2)) }
	item := func() string {
		if depth < 3 && g.r.IntN(4) == 0 {
			return g.flow(depth + 1)
		}
		return g.scalar(true)
	}
	var parts []string
	if g.r.IntN(2) == 0 {
		for range g.r.IntN(4) {
			parts = append(parts, item())
		}
		return "[" + sp() + strings.Join(parts, ","+sp()+" ") + sp() + "]"
	}
	for range g.r.IntN(3) {
		parts = append(parts, g.pick(genKeys)+": "+item())
	}
	return "{" + sp() + strings.Join(parts, ", ") + sp() + "}"
}

// value writes what follows "key:" for a key at column n.
func (g *docGen) value(n, depth int) {
	choice := g.r.IntN(6)
	if depth > 3 {
		choice %= 3
	}
	switch choice {
	case 0:
		g.b.WriteString(" " + g.scalar(false))
		g.eol()
	case 1:
		g.b.WriteString(" " + g.flow(0))
		g.eol()
	case 2:
		g.eol()
	case 3:
		g.eol()
		g.mapping(n+1+g.r.IntN(3), depth+1)
	default:
		g.eol()
		g.sequence(n+g.r.IntN(3), depth+1)
	}
}

func (g *docGen) mapping(n, depth int) {
	for range 1 + g.r.IntN(4) {
		g.filler()
		g.indent(n)
		g.entry(n, depth)
	}
}

func (g *docGen) entry(n, depth int) {
	sep := ":"
	if g.r.IntN(30) == 0 {
		sep = " :"
	}
	g.b.WriteString(g.pick(genKeys) + sep)
	g.value(n, depth)
}

func (g *docGen) sequence(d, depth int) {
	for range 1 + g.r.IntN(3) {
		g.filler()
		g.indent(d)
		pad := 1 + g.r.IntN(2)
		g.b.WriteString("-" + strings.Repeat(" ", pad))
		switch g.r.IntN(4) {
		case 0:
			c := d + 1 + pad // a compact mapping: its keys are at c
			g.entry(c, depth+1)
			for range g.r.IntN(3) {
				g.filler()
				g.indent(c)
				g.entry(c, depth+1)
			}
		case 1:
			g.b.WriteString(g.flow(0))
			g.eol()
		default:
			g.b.WriteString(g.scalar(false))
			g.eol()
		}
	}
}
