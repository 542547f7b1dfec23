package table

import (
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tb := New("NAME", "STATE", "NOTE")
	tb.Row(Cell{Text: "srv1"}, Cell{Text: "active", Color: Green}, Cell{Text: "ü"})
	tb.Row(Plain("longer-name", "inactive", "")...)
	var b strings.Builder
	if err := tb.Write(&b, false); err != nil {
		t.Fatal(err)
	}
	want := "NAME         STATE     NOTE\n" +
		"srv1         active    ü\n" +
		"longer-name  inactive  \n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	tb.Write(&b, true)
	if !strings.Contains(b.String(), "\x1b[32mactive\x1b[0m    ") {
		t.Fatalf("colour or padding wrong: %q", b.String())
	}
	tb = &Table{Indent: "  "}
	tb.Row(Plain("a", "b")...)
	b.Reset()
	tb.Write(&b, false)
	if b.String() != "  a  b\n" {
		t.Fatalf("indent: %q", b.String())
	}
}
