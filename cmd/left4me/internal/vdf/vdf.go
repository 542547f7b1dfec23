// Package vdf parses Valve's text KeyValues format ("VDF"), in which Steam
// writes steamapps/appmanifest_APPID.acf and steamcmd prints app_info.
//
//	"AppState"
//	{
//		"appid"		"222860"
//		"buildid"		"16063936"
//	}
//
// Keys and values are quoted strings (with \" \\ \n \t escapes) or bare
// words; a key is followed by a value or by a { } block; // starts a
// comment; platform conditions such as [$WIN32] are skipped.
package vdf

import (
	"fmt"
	"strings"
)

// Node is a key with either a string value or children.
type Node struct {
	Key      string
	Value    string
	Children []*Node // nil for a string value
	Line     int     // where the key was, for messages
}

// Block reports whether the node is a { } block.
func (n *Node) Block() bool { return n.Children != nil }

// Child returns the first child whose key matches name case-insensitively
// (Steam itself ignores case in keys), or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if strings.EqualFold(c.Key, name) {
			return c
		}
	}
	return nil
}

// Lookup follows a path of keys and returns the string value at its end;
// ok is false when a key is missing or the end is a block.
func (n *Node) Lookup(path ...string) (value string, ok bool) {
	for _, p := range path {
		n = n.Child(p)
	}
	if n == nil || n.Block() {
		return "", false
	}
	return n.Value, true
}

// Parse reads every top-level key of text; the result is a block node
// without a key holding them.
func Parse(text string) (*Node, error) {
	p := &parser{s: text, line: 1}
	root := &Node{Children: []*Node{}, Line: 1}
	if err := p.block(root, 0); err != nil {
		return nil, err
	}
	return root, nil
}

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

type parser struct {
	s    string
	i    int
	line int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("vdf: line %d: "+format, append([]any{p.line}, args...)...)
}

// block reads key/value pairs into parent until "}" (depth > 0) or the end
// of the text (depth 0).
func (p *parser) block(parent *Node, depth int) error {
	if depth > maxDepth {
		return p.errorf("nested deeper than %d", maxDepth)
	}
	for {
		tok, kind, err := p.next()
		if err != nil {
			return err
		}
		switch kind {
		case tokEOF:
			if depth > 0 {
				return p.errorf("missing } at the end")
			}
			return nil
		case tokClose:
			if depth == 0 {
				return p.errorf("} without {")
			}
			return nil
		case tokOpen:
			return p.errorf("{ without a key")
		}
		n := &Node{Key: tok, Line: p.line}
		val, vkind, err := p.next()
		if err != nil {
			return err
		}
		switch vkind {
		case tokString:
			n.Value = val
		case tokOpen:
			n.Children = []*Node{}
			if err := p.block(n, depth+1); err != nil {
				return err
			}
		default:
			return p.errorf("key %q has no value", tok)
		}
		parent.Children = append(parent.Children, n)
	}
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokString
	tokOpen
	tokClose
)

// next returns the next token, skipping blanks, comments and conditions.
func (p *parser) next() (string, tokKind, error) {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\n':
			p.line++
			p.i++
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case strings.HasPrefix(p.s[p.i:], "//"):
			for p.i < len(p.s) && p.s[p.i] != '\n' {
				p.i++
			}
		case c == '[':
			end := strings.IndexByte(p.s[p.i:], ']')
			if end < 0 {
				return "", 0, p.errorf("unterminated [condition]")
			}
			p.i += end + 1
		case c == '{':
			p.i++
			return "{", tokOpen, nil
		case c == '}':
			p.i++
			return "}", tokClose, nil
		case c == '"':
			return p.quoted()
		default:
			start := p.i
			for p.i < len(p.s) && !strings.ContainsRune(" \t\r\n{}\"", rune(p.s[p.i])) {
				p.i++
			}
			return p.s[start:p.i], tokString, nil
		}
	}
	return "", tokEOF, nil
}

func (p *parser) quoted() (string, tokKind, error) {
	p.i++ // opening quote
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), tokString, nil
		case c == '\\' && p.i+1 < len(p.s):
			p.i++
			switch e := p.s[p.i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default: // \" \\ and anything else stands for itself
				b.WriteByte(e)
			}
		default:
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
		}
		p.i++
	}
	return "", 0, p.errorf("unterminated quoted string")
}
