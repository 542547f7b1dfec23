package specedit

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/left4me/left4me/spec"
)

// SetAutostart returns data with autostart set to on, and whether anything
// changed. The yaml.v3 node tree locates the value; only its bytes are
// replaced (or one line is added after port:), so comments, blank lines,
// quoting and indentation stay exactly as the operator wrote them, which
// re-encoding the tree would not keep.
func SetAutostart(data []byte, on bool) ([]byte, bool, error) {
	// A byte-order mark, which the parser skips, stays where it is: the
	// edit is made after it.
	if rest, ok := bytes.CutPrefix(data, []byte(spec.BOM)); ok {
		out, changed, err := SetAutostart(rest, on)
		if err != nil {
			return nil, false, err
		}
		if !changed {
			return data, false, nil
		}
		return append([]byte(spec.BOM), out...), true, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false, fmt.Errorf("parse: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("the spec is not a mapping of keys")
	}
	m := doc.Content[0]
	if m.Style&yaml.FlowStyle != 0 {
		return nil, false, fmt.Errorf("the spec is written as one {...} mapping; set autostart: %t in it by hand", on)
	}
	var val, portKey, portVal *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case "autostart":
			val = m.Content[i+1]
		case "port":
			portKey, portVal = m.Content[i], m.Content[i+1]
		}
	}
	want := strconv.FormatBool(on)
	if val != nil {
		if b, err := strconv.ParseBool(val.Value); err == nil && val.Tag == "!!bool" && b == on {
			return data, false, nil
		}
		off := offset(data, val.Line, val.Column)
		if val.Kind != yaml.ScalarNode || val.Style != 0 || val.Value == "" || off < 0 || !bytes.HasPrefix(data[off:], []byte(val.Value)) {
			return nil, false, fmt.Errorf("autostart on line %d is not a plain value; set it to %s by hand", val.Line, want)
		}
		return splice(data, off, len(val.Value), want), true, nil
	}
	if !on {
		return data, false, nil // absent means false
	}
	if portKey == nil {
		return nil, false, fmt.Errorf("the spec has no port: line to add autostart after")
	}
	// The line after port's value, indented like port.
	at := offset(data, portVal.Line+1, 1)
	eol := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		eol = "\r\n"
	}
	line := strings.Repeat(" ", portKey.Column-1) + "autostart: true" + eol
	if at < 0 { // port is on the last line
		at = len(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			line = eol + line
		}
	}
	return splice(data, at, 0, line), true, nil
}

// offset converts yaml's 1-based line and column (counted in characters)
// to a byte offset, or -1 when data has no such position.
func offset(data []byte, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return -1
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(data) || data[off] == '\n' {
			return -1
		}
		_, n := utf8.DecodeRune(data[off:])
		off += n
	}
	return off
}

func splice(data []byte, off, n int, s string) []byte {
	out := make([]byte, 0, len(data)-n+len(s))
	out = append(out, data[:off]...)
	out = append(out, s...)
	return append(out, data[off+n:]...)
}
