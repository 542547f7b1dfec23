// Package table prints aligned plain-text tables, coloured only when asked
// (on a terminal), with the padding computed on the uncoloured text.
package table

import (
	"io"
	"strings"
	"unicode/utf8"
)

// ANSI colours for Cell.Color.
const (
	Green  = "32"
	Red    = "31"
	Yellow = "33"
	Dim    = "2"
	Bold   = "1"
)

// Cell is one field, optionally coloured.
type Cell struct {
	Text  string
	Color string // an ANSI SGR code such as Green; "" for none
}

// Table collects rows under a header.
type Table struct {
	Indent string // printed before every row
	rows   [][]Cell
}

// New starts a table with a header row; a zero Table has none (shown in bold when coloured).
func New(header ...string) *Table {
	h := make([]Cell, len(header))
	for i, s := range header {
		h[i] = Cell{Text: s, Color: Bold}
	}
	return &Table{rows: [][]Cell{h}}
}

// Row adds a row.
func (t *Table) Row(cells ...Cell) { t.rows = append(t.rows, cells) }

// Plain makes uncoloured cells.
func Plain(texts ...string) []Cell {
	c := make([]Cell, len(texts))
	for i, s := range texts {
		c[i] = Cell{Text: s}
	}
	return c
}

// Write prints the table; columns are separated by two spaces and the last
// column is not padded, so lines carry no trailing blanks.
func (t *Table) Write(w io.Writer, color bool) error {
	var width []int
	for _, r := range t.rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c.Text))
		}
	}
	var b strings.Builder
	for _, r := range t.rows {
		b.WriteString(t.Indent)
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			if color && c.Color != "" {
				b.WriteString("\x1b[" + c.Color + "m" + c.Text + "\x1b[0m")
			} else {
				b.WriteString(c.Text)
			}
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c.Text)))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
