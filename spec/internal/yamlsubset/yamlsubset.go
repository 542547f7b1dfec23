// Package yamlsubset parses the small YAML subset that instance specs are
// written in into the very yaml.Node tree gopkg.in/yaml.v3 would build, at a
// fraction of its cost. Anything outside the subset is declined (ok=false)
// and the caller falls back to yaml.v3: declining is always safe, a tree that
// differs from yaml.v3's is a bug (FuzzParse checks this).
//
// The subset: a block mapping of plain keys whose values are plain or quoted
// scalars, one-line flow collections, or nested block mappings and sequences
// (items: scalars, flow collections or compact "- key: value" mappings);
// comment and blank lines anywhere. Declined among others: anchors, aliases,
// tags, directives, document markers, block scalars, multi-line scalars and
// flow collections, empty sequence items, tabs, CR, BOM, control characters.
package yamlsubset

import (
	"gopkg.in/yaml.v3"
)

const (
	maxDepth  = 32  // nesting of collections; deeper specs go to yaml.v3
	maxKeyLen = 200 // bytes from a key to its ':'; yaml.v3 fails over 1024
	stackSize = 64  // initial room for children of unfinished collections
)

// yaml.v3 sets these tags on every node it decodes into a yaml.Node.
const (
	tagMap   = "!!map"
	tagSeq   = "!!seq"
	tagStr   = "!!str"
	tagNull  = "!!null"
	tagBool  = "!!bool"
	tagInt   = "!!int"
	tagFloat = "!!float"
	tagMerge = "!!merge"
)

// Parse returns the DocumentNode yaml.v3's Decoder.Decode builds for data,
// comment fields aside, when data is within the subset, is valid YAML and
// holds exactly one document; otherwise ok is false.
func Parse(data []byte) (doc *yaml.Node, ok bool) { return ParseInto(nil, data) }

// Buffers is the memory of one parse, kept for the next one: a caller that
// parses many documents in turn (the generator, at every boot) allocates it
// once per goroutine. A tree is valid until its Buffers are used again.
type Buffers struct {
	nodes []yaml.Node
	ptrs  []*yaml.Node
}

// ParseInto is Parse with the nodes taken from b (nil: fresh memory).
func ParseInto(b *Buffers, data []byte) (doc *yaml.Node, ok bool) {
	nodes, ok := scanText(data)
	if !ok {
		return nil, false
	}
	p := parser{src: string(data), line: 1, chunk: nodes}
	// One allocation holds the Content arena and, in its tail, the stack.
	var buf []*yaml.Node
	if b != nil && cap(b.ptrs) >= nodes+stackSize && cap(b.nodes) >= nodes {
		buf, p.nodes = b.ptrs[:nodes+stackSize], b.nodes[:0]
	} else {
		buf = make([]*yaml.Node, nodes+stackSize)
		if b != nil {
			p.nodes = make([]yaml.Node, 0, nodes)
			b.ptrs, b.nodes = buf, p.nodes
		}
	}
	p.ptrs, p.stack = buf[:0:nodes], buf[nodes:nodes]
	doc = p.document()
	return doc, doc != nil
}

// parser reads src line by line. Between values it sits on a content line
// (one that is neither blank nor only a comment): i is that line's first
// non-space byte and ind its indentation, or eof is set.
type parser struct {
	src       string
	i         int // read offset
	line      int // 1-based line of i
	lineStart int // offset of that line's first byte
	ind       int // indentation of the current content line; -1 at eof
	eof       bool
	depth     int

	chunk int          // estimated number of nodes, from scanText
	nodes []yaml.Node  // nodes are handed out from here
	ptrs  []*yaml.Node // Content slices are cut from here
	stack []*yaml.Node // children of the collections being built
}

func (p *parser) document() *yaml.Node {
	if !p.skipToContent() || p.eof || p.isEntry() {
		return nil // empty, a top-level sequence, or a document marker
	}
	line, col := p.line, p.col(p.i)
	root := p.blockMapping(p.ind)
	if root == nil || !p.eof {
		return nil
	}
	doc := p.node(yaml.DocumentNode, 0, "", "", line, col)
	mark := len(p.stack)
	p.stack = append(p.stack, root)
	doc.Content = p.finish(mark)
	return doc
}

// blockMapping reads a mapping whose keys are at column n, the first one at
// i (which may follow "- " on the line).
func (p *parser) blockMapping(n int) *yaml.Node {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	m := p.node(yaml.MappingNode, 0, tagMap, "", p.line, p.col(p.i))
	mark := len(p.stack)
	for {
		k := p.key(false)
		if k == nil {
			return nil
		}
		p.i++ // the ':', which is followed by a space, newline or the end
		p.stack = append(p.stack, k)
		v := p.blockValue(n)
		if v == nil {
			return nil
		}
		p.stack = append(p.stack, v)
		if p.eof || p.ind < n {
			break
		}
		if p.ind > n {
			return nil
		}
	}
	m.Content = p.finish(mark)
	return m
}

// blockValue reads the value after a key of a mapping at column n; i is
// just past the key's ':'.
func (p *parser) blockValue(n int) *yaml.Node {
	// yaml.v3 places an empty value right after the ':'.
	line, col := p.line, p.col(p.i)
	j := p.skipSpaces(p.i)
	if j == len(p.src) || p.src[j] == '\n' || p.src[j] == '#' {
		if !p.endLine() {
			return nil
		}
		switch {
		case p.eof || p.ind < n:
		case p.ind == n:
			if p.isEntry() { // "key:\n- item" at the key's own column
				return p.blockSeq(n, true)
			}
		case p.isEntry():
			return p.blockSeq(p.ind, false)
		default:
			return p.blockMapping(p.ind)
		}
		return p.node(yaml.ScalarNode, 0, tagNull, "", line, col)
	}
	p.i = j
	return p.lastOnLine(p.inline(false), n)
}

// blockSeq reads a sequence whose "- " entries are at column d. An
// indentless one (at its key's column) ends at a line without "- ".
func (p *parser) blockSeq(d int, indentless bool) *yaml.Node {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	s := p.node(yaml.SequenceNode, 0, tagSeq, "", p.line, p.col(p.i))
	mark := len(p.stack)
	for {
		// isEntry held: "- " or "-" at the end; an empty item is declined.
		j := p.skipSpaces(p.i + 1)
		if j == len(p.src) || p.src[j] == '\n' || p.src[j] == '#' {
			return nil
		}
		p.i = j
		item := p.seqItem(d)
		if item == nil {
			return nil
		}
		p.stack = append(p.stack, item)
		if p.eof || p.ind < d {
			break
		}
		if p.ind > d {
			return nil
		}
		if !p.isEntry() {
			if indentless {
				break // the next key of the enclosing mapping
			}
			return nil
		}
	}
	s.Content = p.finish(mark)
	return s
}

// seqItem reads the item of an entry at column d, starting at i.
func (p *parser) seqItem(d int) *yaml.Node {
	if p.plainStart(false) {
		// A plain scalar ending in ": " is the first key of a compact mapping.
		start := p.i
		_, stop := p.scanPlain(false)
		p.i = start
		if stop == ':' {
			// Only "- " and spaces precede the key: bytes are columns.
			return p.blockMapping(start - p.lineStart)
		}
	}
	return p.lastOnLine(p.inline(false), d)
}

// lastOnLine checks that the one-line value v of a block collection at
// column n ends its line and that no more-indented line follows: yaml.v3
// would continue a plain scalar there, or fail.
func (p *parser) lastOnLine(v *yaml.Node, n int) *yaml.Node {
	if v == nil || !p.endLine() || (!p.eof && p.ind > n) {
		return nil
	}
	return v
}

// inline reads a value that ends on this line: a quoted or plain scalar
// or a flow collection. In flow context the caller checks what follows.
func (p *parser) inline(flow bool) *yaml.Node {
	switch p.src[p.i] {
	case '"', '\'':
		return p.quoted()
	case '[':
		return p.flowSeq()
	case '{':
		return p.flowMap()
	}
	n, stop := p.plain(flow)
	if !flow && stop != '\n' && stop != '#' {
		return nil // "a: b: c" and the like
	}
	return n
}

// flowSeq reads [a, "b", {c: d}] on one line.
func (p *parser) flowSeq() *yaml.Node {
	return p.flow(yaml.SequenceNode, tagSeq, ']', func() bool {
		item := p.inline(true)
		if item == nil {
			return false
		}
		p.stack = append(p.stack, item)
		return true
	})
}

// flowMap reads {key: value, ...} on one line, keys plain, values present.
func (p *parser) flowMap() *yaml.Node {
	return p.flow(yaml.MappingNode, tagMap, '}', func() bool {
		k := p.key(true)
		if k == nil {
			return false
		}
		p.i = p.skipSpaces(p.i + 1)
		if p.i == len(p.src) || p.src[p.i] == ',' || p.src[p.i] == '}' {
			return false // an empty value
		}
		v := p.inline(true)
		if v == nil {
			return false
		}
		p.stack = append(p.stack, k, v)
		return true
	})
}

// flow reads a one-line flow collection from its opening bracket at p.i;
// item pushes one entry's nodes, or declines.
func (p *parser) flow(kind yaml.Kind, tag string, closer byte, item func() bool) *yaml.Node {
	if !p.enter() {
		return nil
	}
	defer p.leave()
	c := p.node(kind, yaml.FlowStyle, tag, "", p.line, p.col(p.i))
	mark := len(p.stack)
	p.i = p.skipSpaces(p.i + 1)
	if p.i < len(p.src) && p.src[p.i] == closer {
		p.i++
		return c
	}
	for {
		if p.i == len(p.src) || !item() {
			return nil
		}
		if closed, ok := p.flowNext(closer); !ok {
			return nil
		} else if closed {
			break
		}
	}
	c.Content = p.finish(mark)
	return c
}

// flowNext consumes the closing bracket after a flow item (closed), or the
// ", " before another item. A trailing comma is declined.
func (p *parser) flowNext(closer byte) (closed, ok bool) {
	j := p.skipSpaces(p.i)
	if j == len(p.src) {
		return false, false
	}
	switch p.src[j] {
	case closer:
		p.i = j + 1
		return true, true
	case ',':
		p.i = p.skipSpaces(j + 1)
		return false, p.i < len(p.src) && p.src[p.i] != closer && p.src[p.i] != ','
	}
	return false, false
}

// skipToContent moves from the start of a line (or the end of input) to
// the next content line. It declines document markers.
func (p *parser) skipToContent() bool {
	for {
		j := p.skipSpaces(p.i)
		if j == len(p.src) {
			p.i, p.eof, p.ind = j, true, -1
			return true
		}
		switch p.src[j] {
		case '\n':
			p.newline(j + 1)
			continue
		case '#':
			p.i = j
			p.skipComment()
			continue
		}
		p.i, p.ind = j, j-p.lineStart
		s := p.src[j:]
		if p.ind == 0 && len(s) >= 3 && (s[:3] == "---" || s[:3] == "...") {
			return false
		}
		return true
	}
}

// endLine accepts the rest of the line after a value when it is blank or a
// comment set off by a space, then moves to the next content line.
func (p *parser) endLine() bool {
	j := p.skipSpaces(p.i)
	if j < len(p.src) && p.src[j] != '\n' {
		// yaml.v3 would take "[a]#b" as a comment too; declined for brevity.
		if p.src[j] != '#' || p.src[j-1] != ' ' {
			return false
		}
	}
	p.i = j
	p.skipComment()
	return p.skipToContent()
}

// skipComment moves past the end of the current line, from a '#' or '\n'.
func (p *parser) skipComment() {
	for j := p.i; j < len(p.src); j++ {
		if p.src[j] == '\n' {
			p.newline(j + 1)
			return
		}
	}
	p.i = len(p.src)
}

func (p *parser) newline(start int) {
	p.i, p.lineStart = start, start
	p.line++
}

func (p *parser) skipSpaces(j int) int {
	for j < len(p.src) && p.src[j] == ' ' {
		j++
	}
	return j
}

// isEntry reports a block sequence entry at i: "-" then a space or newline.
func (p *parser) isEntry() bool {
	j := p.i + 1
	return p.src[p.i] == '-' && (j == len(p.src) || p.src[j] == ' ' || p.src[j] == '\n')
}

// col is yaml.v3's 1-based column of offset i: it counts characters.
func (p *parser) col(i int) int {
	c := 1
	for j := p.lineStart; j < i; j++ {
		if p.src[j]&0xC0 != 0x80 {
			c++
		}
	}
	return c
}

func (p *parser) enter() bool {
	p.depth++
	return p.depth <= maxDepth
}

func (p *parser) leave() { p.depth-- }

func (p *parser) node(kind yaml.Kind, style yaml.Style, tag, value string, line, col int) *yaml.Node {
	if len(p.nodes) == cap(p.nodes) {
		size := p.chunk
		if p.nodes != nil {
			size = p.chunk/2 + 1 // the estimate was low: grow in smaller steps
		}
		p.nodes = make([]yaml.Node, 0, size)
	}
	p.nodes = p.nodes[:len(p.nodes)+1]
	n := &p.nodes[len(p.nodes)-1]
	// The whole node: a reused one holds the last parse's fields.
	*n = yaml.Node{Kind: kind, Style: style, Tag: tag, Value: value, Line: line, Column: col}
	return n
}

// finish pops the children pushed since mark into a Content slice; like
// yaml.v3, no children is a nil slice. The capacity is capped so that an
// append by a caller cannot overwrite a neighbour's children.
func (p *parser) finish(mark int) []*yaml.Node {
	kids := p.stack[mark:]
	p.stack = p.stack[:mark]
	if len(kids) == 0 {
		return nil
	}
	if cap(p.ptrs)-len(p.ptrs) < len(kids) {
		p.ptrs = make([]*yaml.Node, 0, max(p.chunk/2, len(kids)))
	}
	start := len(p.ptrs)
	p.ptrs = append(p.ptrs, kids...)
	return p.ptrs[start:len(p.ptrs):len(p.ptrs)]
}
