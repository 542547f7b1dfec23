package relay

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// AtPriority writes each of its writes (the relay writes one line at a
// time) to w after a syslog priority prefix "<p>". journald reads only
// the first prefix of a line, so a server line that itself starts "<0>"
// is stored as text at priority p: the server cannot choose how loud its
// lines are, while the helpers' own "<3>" errors (SyslogLevelPrefix=yes,
// systemd's default) keep theirs.
func AtPriority(w io.Writer, p int) io.Writer {
	return prefixWriter{w: w, prefix: []byte(fmt.Sprintf("<%d>", p))}
}

type prefixWriter struct {
	w      io.Writer
	prefix []byte
}

func (pw prefixWriter) Write(b []byte) (int, error) {
	if _, err := pw.w.Write(append(append([]byte(nil), pw.prefix...), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// StdoutIsJournal reports whether stdout is the journal's stream (its
// device and inode are those in $JOURNAL_STREAM, not just inherited), as
// systemd documents for JOURNAL_STREAM in systemd.exec(5).
func StdoutIsJournal() bool {
	var dev, ino uint64
	if _, err := fmt.Sscanf(os.Getenv("JOURNAL_STREAM"), "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st unix.Stat_t
	if unix.Fstat(1, &st) != nil {
		return false
	}
	return uint64(st.Dev) == dev && st.Ino == ino
}
