package diag

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// Error lines carry journald's priority prefix only when stderr really is
// the journal's stream, not when JOURNAL_STREAM was merely inherited.
func TestPrintError(t *testing.T) {
	err := errors.New("first\nsecond")
	var b bytes.Buffer
	t.Setenv("JOURNAL_STREAM", "1:2") // inherited, not ours
	PrintError(&b, "left4me-x", err)
	if b.String() != "left4me-x: first\nleft4me-x: second\n" {
		t.Errorf("not the journal: %q", b.String())
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(2, &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	b.Reset()
	PrintError(&b, "left4me-x", err)
	if b.String() != "<3>first\n<3>second\n" {
		t.Errorf("the journal: %q", b.String())
	}
}
