// Package diag is how the helpers under cmd/ report an error on their way
// out: the journal's priority prefix when stderr is the journal, the
// program's name elsewhere. It links nothing of ours, so the relay stays
// free of the start helper's code.
package diag

import (
	"fmt"
	"io"
	"strings"

	"github.com/coreos/go-systemd/v22/journal"
)

// PrintError writes err to w (the process's stderr), one line at a time.
// When stderr is the journal's stream (journal.StderrIsJournalStream: the
// JOURNAL_STREAM device and inode are stderr's, not just inherited), each
// line carries the <3> prefix so journald records it as an error, and no
// program name, which the journal shows already; elsewhere, prog: leads.
// The mains exit; this never does.
func PrintError(w io.Writer, prog string, err error) {
	prefix := prog + ": "
	if ok, _ := journal.StderrIsJournalStream(); ok {
		prefix = "<3>"
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
