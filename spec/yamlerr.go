package spec

import (
	"strconv"
	"strings"
	"unicode"
)

// yaml.v3's parser messages that plainYAMLError recognises. They are
// yaml.v3's words, not an API: TestYAMLMessages pins each to an input that
// makes yaml.v3 say it, so a rewording fails a test instead of silently
// losing the plain message.
const (
	msgFlowSeq     = "did not find expected ',' or ']'"
	msgFlowMap     = "did not find expected ',' or '}'"
	msgEndOfStream = "found unexpected end of stream"
	msgKey         = "did not find expected key"
	msgMapValues   = "mapping values are not allowed"
	msgDash        = "did not find expected '-' indicator"
)

// plainYAMLError says in plain words what yaml.v3's parser error means for
// the usual mistakes in a hand-edited spec, and on which line: yaml.v3
// names a tab "found character that cannot start any token", and reports
// an indentation or bracket mistake at the line where the construct began,
// often a line early (or at line 1). It returns the line (1-based) and the
// message, or ok false to keep yaml.v3's own.
func plainYAMLError(data []byte, line int, msg string) (int, string, bool) {
	lines := strings.Split(string(data), "\n")
	if n, ok := tabIndented(lines); ok {
		return n, "a tab in the indentation; YAML indents with spaces only", true
	}
	switch {
	case strings.Contains(msg, msgFlowSeq), strings.Contains(msg, msgFlowMap):
		if n, open, ok := unclosed(lines); ok {
			return n, "the " + string(open) + " opened on this line is not closed (a missing " + closer(open) + " or a missing comma)", true
		}
	case strings.Contains(msg, msgEndOfStream):
		if n, q, ok := unclosedQuote(lines); ok {
			return n, "the " + string(q) + " quote opened on this line is not closed", true
		}
	case strings.Contains(msg, msgKey), strings.Contains(msg, msgMapValues), strings.Contains(msg, msgDash):
		if n, ok := misIndented(lines, line); ok {
			return n, "this line's indentation does not line up with the lines above it (YAML nests by the number of spaces at the start of a line)", true
		}
	}
	return 0, "", false
}

// tabIndented finds the first line whose indentation holds a tab.
func tabIndented(lines []string) (int, bool) {
	for i, l := range lines {
		for _, c := range l {
			if c == '\t' {
				return i + 1, true
			}
			if c != ' ' {
				break
			}
		}
	}
	return 0, false
}

// unclosed finds the last line that opens more [ or { than it closes,
// outside quotes.
func unclosed(lines []string) (int, byte, bool) {
	line, depth := 0, 0
	var open byte
	for i, l := range lines {
		for _, c := range []byte(unquoted(l)) {
			switch c {
			case '[', '{':
				if depth == 0 {
					line, open = i+1, c
				}
				depth++
			case ']', '}':
				depth--
			}
		}
	}
	return line, open, depth > 0 && line > 0
}

func closer(open byte) string {
	if open == '{' {
		return "}"
	}
	return "]"
}

// unclosedQuote finds the first line with an odd number of ' or " (YAML
// doubles a ' inside '...'), outside comments.
func unclosedQuote(lines []string) (int, byte, bool) {
	for i, l := range lines {
		if j := strings.Index(l, " #"); j >= 0 {
			l = l[:j]
		}
		for _, q := range []byte{'\'', '"'} {
			if strings.Count(l, string(q))%2 == 1 {
				return i + 1, q, true
			}
		}
	}
	return 0, 0, false
}

// unquoted blanks out quoted text and a trailing comment of a line.
func unquoted(l string) string {
	var b strings.Builder
	var q rune
	for _, c := range l {
		switch {
		case q != 0 && c == q:
			q = 0
		case q != 0:
		case c == '\'' || c == '"':
			q = c
		case c == '#':
			return b.String()
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// misIndented finds, from the line yaml.v3 reported, the first line whose
// indentation is deeper than the line before without that line opening a
// block (ending in ':' or being a '- ' item), or shallower than it but at
// no level used above.
func misIndented(lines []string, from int) (int, bool) {
	var levels []int // indentations of the enclosing lines so far
	prevOpens := false
	for i, l := range lines {
		t := strings.TrimLeft(l, " ")
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		ind := len(l) - len(t)
		bad := false
		switch {
		case len(levels) == 0:
		case ind > levels[len(levels)-1]:
			bad = !prevOpens
		default:
			for len(levels) > 0 && levels[len(levels)-1] > ind {
				levels = levels[:len(levels)-1]
			}
			bad = len(levels) == 0 || levels[len(levels)-1] != ind
		}
		if bad && i+1 >= from {
			return i + 1, true
		}
		if len(levels) == 0 || levels[len(levels)-1] != ind {
			levels = append(levels, ind)
		}
		// A line opens a deeper block when it ends in ':', or is a list
		// item that is empty or a mapping ("- path: x" goes on below).
		body := strings.TrimSpace(unquoted(t))
		item, isItem := strings.CutPrefix(body, "-")
		item = strings.TrimSpace(item)
		prevOpens = strings.HasSuffix(body, ":") || isItem && (item == "" || strings.Contains(item, ": "))
	}
	return 0, false
}

// nearest is the known key closest to key, when one is close enough to be
// a typo (at most two edits, or one of them a prefix of the other).
func nearest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		d := editDistance(key, k)
		if strings.HasPrefix(k, key) || strings.HasPrefix(key, k) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// yamlText bounds yaml.v3's own message, which quotes the spec's text
// (unknown anchor 'NAME' referenced) whole: each word longer than
// maxQuoted runes is cut, and a rune that is not printable is escaped, so
// a spec cannot write a line of any length or a control sequence into the
// journal or a terminal through a syntax error.
func yamlText(msg string) string {
	words := strings.Split(msg, " ")
	for i, w := range words {
		var b strings.Builder
		n := 0
		for _, r := range w {
			if n == maxQuoted {
				b.WriteString("...")
				break
			}
			n++
			if unicode.IsGraphic(r) && r != unicode.ReplacementChar {
				b.WriteRune(r)
			} else {
				b.WriteString(strings.Trim(strconv.QuoteRuneToASCII(r), "'"))
			}
		}
		words[i] = b.String()
	}
	return strings.Join(words, " ")
}

// aliasAt finds the first use (*NAME) of the anchor that yaml.v3 says is
// unknown, which it reports without a line; 0, 0 for any other message.
func aliasAt(data []byte, msg string) (line, col int) {
	name, ok1 := strings.CutPrefix(msg, "unknown anchor '")
	name, ok2 := strings.CutSuffix(name, "' referenced")
	if !ok1 || !ok2 || name == "" {
		return 0, 0
	}
	for i, l := range strings.Split(string(data), "\n") {
		for from := 0; ; {
			j := strings.Index(l[from:], "*"+name)
			if j < 0 {
				break
			}
			end := from + j + 1 + len(name)
			if end == len(l) || strings.ContainsRune(" \t\r,]}:", rune(l[end])) {
				return i + 1, len([]rune(l[:from+j])) + 1
			}
			from = end
		}
	}
	return 0, 0
}
