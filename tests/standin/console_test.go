package main

import (
	"strings"
	"testing"
)

// The text console's line: echoed as kept, printable ASCII only, 255
// characters at most, the rest of a long line lost.
func TestLineEditor(t *testing.T) {
	var echo strings.Builder
	l := &lineEditor{echo: &echo}
	var got []string
	for _, c := range []byte("say caf\xc3\xa9\x1b[2J ok\nsay " + strings.Repeat("x", 300) + "\n") {
		if cmd, done := l.typed(c); done {
			got = append(got, cmd)
		}
	}
	if len(got) != 2 || got[0] != "say caf[2J ok" || len(got[1]) != maxConsoleText-1 {
		t.Fatalf("commands %q", got)
	}
	if !strings.HasPrefix(echo.String(), "say caf[2J ok\n") {
		t.Errorf("echo %q", echo.String())
	}
}
