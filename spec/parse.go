package spec

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// BOM is the UTF-8 byte-order mark a spec may start with (Parse skips it).
const BOM = "\ufeff"

// Parse reads one spec. file is used only in error messages. All problems
// found are returned together (errors.Join of *Error), so an operator fixes
// a spec in one pass.
func Parse(file string, data []byte) (*Spec, error) {
	p := parser{file: file}
	if len(data) > MaxSpecSize {
		return nil, p.fileErr(fmt.Sprintf("larger than %d bytes", MaxSpecSize))
	}
	if n := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte(",")); n > maxSeparators {
		// yaml.v3 builds a node per item, about a microsecond each: a
		// 1 MiB list of "a," would hold the generator (under PID 1, at
		// boot) for half a second before the item limit refuses it.
		return nil, p.fileErr(fmt.Sprintf("%d lines and commas; a spec has at most %d (%d arguments, %d config lines and %d overlays fit well within that)",
			n, maxSeparators, MaxItems, MaxItems, MaxOverlays))
	}
	// A UTF-8 byte-order mark is accepted and skipped, as YAML itself
	// allows one at the start of a stream: Windows editors save it
	// unseen, and yaml.v3 would read it as part of the first key
	// ("\xef\xbb\xbfport: unknown key"), a refusal the operator cannot see
	// the reason for. The raw bytes (s.raw) keep it: they are the file's.
	dec := yaml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte(BOM))))
	doc := new(yaml.Node)
	if err := dec.Decode(doc); err != nil {
		if err.Error() == "EOF" {
			return nil, p.fileErr("empty file; at least port: is required")
		}
		return nil, p.yamlErr(err, data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, p.at(&extra, "", "more than one YAML document")
	}
	s := &Spec{StartTimeout: DefaultStartTimeout, HangTimeout: DefaultHangTimeout}
	s.raw = data
	p.root(doc, s)
	s.overlayPos = p.overlayPos
	if p.dropped > 0 {
		p.errs = append(p.errs, p.fileErr(fmt.Sprintf("%d more problems not shown (at most %d are reported per spec)", p.dropped, MaxErrors)))
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return s, nil
}

type parser struct {
	file       string
	errs       []error
	dropped    int // problems beyond MaxErrors, counted only
	overlayPos [][2]int
}

func (p *parser) fileErr(msg string) error { return &Error{File: p.file, Msg: msg} }

func (p *parser) at(n *yaml.Node, field, msg string) error {
	return &Error{File: p.file, Line: n.Line, Column: n.Column, Field: safeField(field), Msg: msg}
}

// add records a problem; past MaxErrors it is only counted, so a spec
// cannot make the generator write megabytes of messages to the journal
// and to its plan, copied again into the unit's journal at every start.
func (p *parser) add(n *yaml.Node, field, format string, args ...any) {
	if len(p.errs) >= MaxErrors {
		p.dropped++
		return
	}
	p.errs = append(p.errs, p.at(n, field, fmt.Sprintf(format, args...)))
}

// yamlErr turns yaml.v3's "yaml: line N: msg" into a located *Error, in
// plain words at the right line where the mistake is a usual one.
func (p *parser) yamlErr(err error, data []byte) error {
	raw := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: p.file, Msg: yamlText(raw)}
	e.Line, e.Column = aliasAt(data, raw) // yaml.v3 gives no line for it
	if rest, ok := strings.CutPrefix(e.Msg, "line "); ok {
		if num, m, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				e.Line, e.Column, e.Msg = n, 1, m
			}
		}
	}
	if n, plain, ok := plainYAMLError(data, e.Line, e.Msg); ok {
		e.Line, e.Column, e.Msg = n, 1, plain+" (YAML: "+e.Msg+")"
	}
	return e
}

// unknownKey reports key k of a mapping whose keys are known, suggesting
// the nearest one.
func (p *parser) unknownKey(k *yaml.Node, field string, known []string) {
	msg := "unknown key"
	if n := nearest(k.Value, known); n != "" {
		msg += "; did you mean " + n + "?"
	}
	p.add(k, field, "%s (allowed: %s)", msg, strings.Join(known, ", "))
}

func (p *parser) root(doc *yaml.Node, s *Spec) {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		p.add(n, "", "the spec must be a mapping of keys (port:, overlays:, ...)")
		return
	}
	var sawPort bool
	var ps portSpec
	skip := p.duplicates(n, "")
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if skip[i] {
			continue
		}
		switch k.Value {
		case "port":
			sawPort = true
			s.Port = p.port(v)
			s.portLine, s.portCol = v.Line, v.Column
		case "ports":
			ps = p.portSet(v)
		case "autostart":
			s.Autostart = p.boolean(v, "autostart")
		case "arguments":
			s.Arguments = p.arguments(v, s)
		case "config":
			s.Config = p.strings(v, "config", validConfigLine)
			if n := totalLen(s.Config); n > MaxConfigBytes {
				p.add(v, "config", "%d bytes of lines; at most %d (a server.cfg that large belongs in an overlay's cfg/)", n, MaxConfigBytes)
			}
		case "overlays":
			s.Overlays = p.overlays(v)
		case "start_timeout":
			s.StartTimeout = p.seconds(v, "start_timeout", 10, false)
		case "hang_timeout":
			s.HangTimeout = p.seconds(v, "hang_timeout", 10, true)
		case "resources":
			s.Resources = p.resources(v)
		case "schedule":
			s.Schedule = p.schedule(v)
		case "backups":
			s.Backups = p.backups(v)
		default:
			p.unknownKey(k, k.Value, KnownKeys()[TopKeys])
		}
	}
	if !sawPort {
		p.add(n, "port", "required (1..65535)")
	} else if s.Port != 0 {
		p.resolvePorts(s, ps)
	}
}

func (p *parser) port(v *yaml.Node) int {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		p.add(v, "port", "must be a whole number 1..65535, got %s", describe(v))
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 0, 64)
	if err != nil || n < 1 || n > 65535 {
		p.add(v, "port", "%s is out of range 1..65535", bareOrQuoted(v.Value))
		return 0
	}
	if n < 1024 {
		// The server has no capabilities (CapabilityBoundingSet= is
		// empty), so the kernel refuses it ports below 1024.
		p.add(v, "port", "%d is below 1024: the server runs unprivileged and cannot bind it; use 1024..65535 (the game's default is 27015)", n)
		return 0
	}
	return int(n)
}

// seconds reads a whole number of seconds, min..3600 (or 0 when zeroOK).
func (p *parser) seconds(v *yaml.Node, field string, min int64, zeroOK bool) time.Duration {
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || err != nil {
		p.add(v, field, "must be a whole number of seconds, got %s", describe(v))
		return 0
	}
	if (n < min || n > 3600) && !(zeroOK && n == 0) {
		zero := ""
		if zeroOK {
			zero = " (or 0 for never)"
		}
		p.add(v, field, "%d is out of range %d..3600 seconds%s", n, min, zero)
		return 0
	}
	return time.Duration(n) * time.Second
}

func (p *parser) boolean(v *yaml.Node, field string) bool {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		p.add(v, field, "must be true or false, got %s", describe(v))
		return false
	}
	b, _ := strconv.ParseBool(v.Value)
	return b
}

// scalarText accepts strings and numbers (specs write -tickrate 100 both
// ways); maps, lists and null are not text.
func (p *parser) scalarText(v *yaml.Node, field string) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.add(v, field, "must be a string, got %s", describe(v))
		return "", false
	}
	return v.Value, true
}

func (p *parser) strings(v *yaml.Node, field string, check func(string) string) []string {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		got := describe(v)
		if field == "config" || field == "arguments" {
			got = describeSecret(v)
		}
		p.add(v, field, "must be a list of strings, got %s", got)
		return nil
	}
	if len(v.Content) > MaxItems {
		p.add(v, field, "more than %d items", MaxItems)
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for i, item := range v.Content {
		f := field + "[" + strconv.Itoa(i) + "]" // not fmt: this runs for every item
		s, ok := p.scalarText(item, f)
		if !ok {
			continue
		}
		if msg := check(s); msg != "" {
			p.add(item, f, "%s", msg)
			continue
		}
		out = append(out, s)
	}
	return out
}

// duplicates reports keys of mapping m given more than once (yaml.v3 does
// not check this when decoding into a Node) and returns, for each key
// index in m.Content, whether to skip it. One map, so a spec of many keys
// costs linear time.
func (p *parser) duplicates(m *yaml.Node, prefix string) []bool {
	skip := make([]bool, len(m.Content))
	first := make(map[string]int, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if line, seen := first[k.Value]; seen {
			p.add(k, prefix+k.Value, "given twice (first on line %d)", line)
			skip[i] = true
			continue
		}
		first[k.Value] = k.Line
	}
	return skip
}

func describe(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "a YAML alias"
	}
	switch v.Tag {
	case "!!null":
		return "nothing (null)"
	case "!!str":
		return "the string " + quoteCut(v.Value)
	}
	return bareOrQuoted(strings.TrimPrefix(v.Tag, "!!")) + " " + bareOrQuoted(v.Value)
}

// describeSecret is describe of a value that may hold a password (config
// lines, arguments: rcon_password "..."), whose text the error leaves out:
// errors reach the journal, the panel's viewers and alerts.
func describeSecret(v *yaml.Node) string {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!str":
		return fmt.Sprintf("a string of %d bytes (not shown: it may hold a password)", len(v.Value))
	case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
		return fmt.Sprintf("a value of %d bytes (not shown: it may hold a password)", len(v.Value))
	}
	return describe(v)
}

// bareOrQuoted keeps a short value of plain printable ASCII as it is (int
// 99999) and quotes and cuts anything else (quoteCut): a value of any tag
// (port: !!int "…") is the spec author's text.
func bareOrQuoted(s string) string {
	if len(s) == 0 || len(s) > maxQuoted {
		return quoteCut(s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == '"' || s[i] == '\\' {
			return quoteCut(s)
		}
	}
	return s
}

// maxSeparators bounds the lines plus commas of a spec, which bound the
// YAML nodes it can hold, before any YAML is parsed.
const maxSeparators = 20000

// maxQuoted bounds a value quoted into a message: a spec is written by
// others, and its text reaches the journal, plans and terminals.
const maxQuoted = 64

// quoteCut quotes s as Go would (control characters and ESC escaped, so
// no text can forge a line or drive a terminal), cut to maxQuoted runes.
func quoteCut(s string) string {
	if r := []rune(s); len(r) > maxQuoted {
		return strconv.QuoteToGraphic(string(r[:maxQuoted])) + "..."
	}
	return strconv.QuoteToGraphic(s)
}

// safeField keeps a field name as it is when it is plain text (keys and
// indexes), and quotes it otherwise: an unknown key is the spec author's.
func safeField(f string) string {
	for _, r := range f {
		if r < 0x20 || r == 0x7f || !unicode.IsGraphic(r) || len(f) > 2*maxQuoted {
			return quoteCut(f)
		}
	}
	return f
}

func totalLen(lines []string) (n int) {
	for _, l := range lines {
		n += len(l) + 1
	}
	return n
}
