package yamlsubset

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// scanText accepts UTF-8 made of '\n', printable ASCII and the characters
// yaml.v3 reads as ordinary text. Declined: tab and CR (their rules are
// subtle), other control characters (yaml.v3 rejects them), invalid UTF-8,
// NEL, LS and PS (yaml.v3 breaks lines at them), and BOM.
//
// It also counts nodes for Parse's allocation. For a document Parse accepts
// this is an upper bound: the document and its mapping, a key and a value
// per ": ", an item per "- ", and a flow item per '[', '{' or ','.
func scanText(data []byte) (nodes int, ok bool) {
	nodes = 2
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			switch {
			case c == ':' || c == '-':
				if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' {
					nodes++
					if c == ':' {
						nodes++
					}
				}
			case c == ',' || c == '[' || c == '{':
				nodes++
			case c != '\n' && (c < 0x20 || c > 0x7E):
				return 0, false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case size == 1, r < 0xA0, r == 0x2028, r == 0x2029, r == 0xFEFF, r == 0xFFFE, r == 0xFFFF:
			return 0, false
		}
		i += size
	}
	return nodes, true
}

// plainStart reports whether a plain scalar starts at i. It is stricter than
// yaml.v3: "?x" and ":x" are plain there but declined here.
func (p *parser) plainStart(flow bool) bool {
	switch p.src[p.i] {
	case '-':
		// "- " is an entry; "-," and the like are declined in flow context.
		j := p.i + 1
		if j == len(p.src) || p.src[j] == ' ' || p.src[j] == '\n' {
			return false
		}
		return !flow || strings.IndexByte(",[]{}?:#", p.src[j]) < 0
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ', '\n':
		return false
	}
	return true
}

// plain reads the plain scalar at i, which must end on this line, and
// returns it with the byte that stopped it (see scanPlain).
func (p *parser) plain(flow bool) (*yaml.Node, byte) {
	if p.i == len(p.src) || !p.plainStart(flow) {
		return nil, 0
	}
	start, col := p.i, p.col(p.i)
	end, stop := p.scanPlain(flow)
	if stop == 0 {
		return nil, 0
	}
	v := p.src[start:end]
	tag, ok := resolve(v)
	if !ok {
		return nil, 0
	}
	return p.node(yaml.ScalarNode, 0, tag, v, p.line, col), stop
}

// key reads a plain key and leaves i at its ':'. yaml.v3's limit counts
// from the key's start to the ':', trailing spaces included.
func (p *parser) key(flow bool) *yaml.Node {
	start := p.i
	k, stop := p.plain(flow)
	if k == nil || stop != ':' || p.i-start > maxKeyLen {
		return nil
	}
	return k
}

// scanPlain follows yaml.v3's scan_plain_scalar on one line. It returns
// the end of the value and the stop: ':' (a ": " or ":" at the end), '#'
// (" #"), '\n' (the end of the line or input) or, in flow context, one of
// ",?[]{}". i is left at the stop. 0 declines: a ':' inside a flow scalar.
func (p *parser) scanPlain(flow bool) (end int, stop byte) {
	s := p.src
	i := p.i
	for {
		for i < len(s) && s[i] != ' ' && s[i] != '\n' {
			switch s[i] {
			case ':':
				if i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\n' {
					p.i = i
					return end, ':'
				}
				if flow {
					return 0, 0
				}
			case ',', '?', '[', ']', '{', '}':
				if flow {
					p.i = i
					return end, s[i]
				}
			}
			i++
			end = i
		}
		i = p.skipSpaces(i)
		if i == len(s) || s[i] == '\n' || s[i] == '#' {
			p.i = i
			if i < len(s) && s[i] == '#' {
				return end, '#'
			}
			return end, '\n'
		}
	}
}

// quoted reads a single- or double-quoted scalar that ends on this line.
func (p *parser) quoted() *yaml.Node {
	start, col := p.i, p.col(p.i)
	var v string
	var ok bool
	style := yaml.SingleQuotedStyle
	if p.src[start] == '"' {
		style = yaml.DoubleQuotedStyle
		v, ok = p.doubleQuoted()
	} else {
		v, ok = p.singleQuoted()
	}
	if !ok {
		return nil
	}
	return p.node(yaml.ScalarNode, style, tagStr, v, p.line, col)
}

// singleQuoted: a doubled quote stands for one, nothing else is special.
// Without doubled quotes the value is a substring of src: no allocation.
func (p *parser) singleQuoted() (string, bool) {
	s := p.src
	start := p.i + 1
	var b []byte
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return "", false
		case '\'':
			if i+1 < len(s) && s[i+1] == '\'' {
				b = append(b, s[start:i+1]...)
				i++
				start = i + 1
				continue
			}
			p.i = i + 1
			if b == nil {
				return s[start:i], true
			}
			return string(append(b, s[start:i]...)), true
		}
	}
	return "", false
}

// doubleQuoted implements yaml.v3's escapes except the escaped line break.
func (p *parser) doubleQuoted() (string, bool) {
	s := p.src
	start := p.i + 1
	var b []byte
	escaped := false
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return "", false
		case '"':
			p.i = i + 1
			if !escaped {
				return s[start:i], true
			}
			return string(append(b, s[start:i]...)), true
		case '\\':
			if i+1 == len(s) {
				return "", false
			}
			b = append(b, s[start:i]...)
			escaped = true
			i++
			var ok bool
			if b, i, ok = unescape(b, s, i); !ok {
				return "", false
			}
			start = i + 1
		}
	}
	return "", false
}

// unescape appends the escape whose letter is s[i] and returns the offset
// of its last byte.
func unescape(b []byte, s string, i int) ([]byte, int, bool) {
	if c := simpleEscape(s[i]); c != "" {
		return append(b, c...), i, true
	}
	var n int
	switch s[i] {
	case 'x':
		n = 2
	case 'u':
		n = 4
	case 'U':
		n = 8
	default:
		return b, i, false // unknown, or a line break: yaml.v3 fails or folds
	}
	if i+n >= len(s) {
		return b, i, false
	}
	v := 0
	for _, c := range []byte(s[i+1 : i+1+n]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 + int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 + int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 + int(c-'A'+10)
		default:
			return b, i, false
		}
	}
	if v >= 0xD800 && v <= 0xDFFF || v > 0x10FFFF {
		return b, i, false // yaml.v3: invalid Unicode character escape code
	}
	return utf8.AppendRune(b, rune(v)), i + n, true
}

func simpleEscape(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'a':
		return "\a"
	case 'b':
		return "\b"
	case 't':
		return "\t"
	case 'n':
		return "\n"
	case 'v':
		return "\v"
	case 'f':
		return "\f"
	case 'r':
		return "\r"
	case 'e':
		return "\x1b"
	case ' ':
		return " "
	case '"':
		return "\""
	case '\'':
		return "'"
	case '\\':
		return "\\"
	case 'N':
		return "\u0085"
	case '_':
		return "\u00a0"
	case 'L':
		return "\u2028"
	case 'P':
		return "\u2029"
	}
	return ""
}

// resolve returns the tag yaml.v3 gives the plain scalar s (non-empty):
// its resolve("", s) in resolve.go, plus "<<" as !!merge. ok is false for
// the timestamp-like "2006-..." forms, which are not mirrored here.
func resolve(s string) (tag string, ok bool) {
	switch s {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return tagBool, true
	case "~", "null", "Null", "NULL":
		return tagNull, true
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF",
		"+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return tagFloat, true
	case "<<":
		return tagMerge, true
	}
	switch c := s[0]; {
	case c == '.':
		// Only these bytes can make a float that starts with '.'; checking
		// first spares ParseFloat's error allocation on words like ".git".
		if onlyBytes(s, "0123456789.eE+-_") {
			if _, err := strconv.ParseFloat(s, 64); err == nil {
				return tagFloat, true
			}
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		return resolveNumber(s)
	}
	return tagStr, true
}

// resolveNumber mirrors resolve.go's branch for a leading sign or digit.
func resolveNumber(s string) (string, bool) {
	if len(s) > 4 && onlyBytes(s[:4], "0123456789") && s[4] == '-' {
		return "", false // maybe a !!timestamp
	}
	// Every parse below fails on other bytes; "-tickrate" and "+map" skip
	// them and their error allocations.
	if !onlyBytes(s, "0123456789abcdefABCDEFxXoObB+-._") {
		return tagStr, true
	}
	plain := strings.ReplaceAll(s, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return tagInt, true
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return tagInt, true
	}
	if yamlStyleFloat(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return tagFloat, true
		}
	}
	switch {
	case strings.HasPrefix(plain, "0b"):
		if parsesInt(plain[2:], 2) {
			return tagInt, true
		}
	case strings.HasPrefix(plain, "-0b"):
		if _, err := strconv.ParseInt("-"+plain[3:], 2, 64); err == nil {
			return tagInt, true
		}
	}
	switch {
	case strings.HasPrefix(plain, "0o"):
		if parsesInt(plain[2:], 8) {
			return tagInt, true
		}
	case strings.HasPrefix(plain, "-0o"):
		if _, err := strconv.ParseInt("-"+plain[3:], 8, 64); err == nil {
			return tagInt, true
		}
	}
	return tagStr, true
}

func parsesInt(s string, base int) bool {
	if _, err := strconv.ParseInt(s, base, 64); err == nil {
		return true
	}
	_, err := strconv.ParseUint(s, base, 64)
	return err == nil
}

// yamlStyleFloat matches resolve.go's
// ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ without regexp.
func yamlStyleFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i < len(s) && s[i] == '.' {
		if i = digits(s, i+1); i < 0 {
			return false
		}
	} else {
		if i = digits(s, i); i < 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if i = digits(s, i); i < 0 {
			return false
		}
	}
	return i == len(s)
}

// digits returns the offset after one or more digits at i, or -1.
func digits(s string, i int) int {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

func onlyBytes(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}
