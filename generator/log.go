package generator

import (
	"fmt"

	"github.com/coreos/go-systemd/v22/journal"
	"io"
	"os"
	"strings"
)

// Log writes each message to stderr and to the kernel log. Generators run
// before journald; the kernel log is how `journalctl -b` gets the reason a
// spec was skipped, and stderr is what `systemd-analyze --generators verify`
// shows. Where there is no /dev/kmsg (containers), a daemon-reload still
// reaches the running journald through its socket.
type Log struct {
	stderr  io.Writer
	kmsg    io.WriteCloser // nil when /dev/kmsg cannot be opened
	journal bool           // kmsg missing but journald listening
	prefix  string
}

// NewLog opens kmsgPath for writing; failing that it logs to stderr only.
func NewLog(stderr io.Writer, kmsgPath string) *Log {
	l := &Log{stderr: stderr, prefix: fmt.Sprintf("left4me-generator[%d]: ", os.Getpid())}
	if f, err := os.OpenFile(kmsgPath, os.O_WRONLY, 0); err == nil {
		l.kmsg = f
	} else {
		l.journal = journal.Enabled()
	}
	return l
}

// Errorf logs at priority err (3). Each line of a multi-line message (one
// per problem in a spec) becomes its own record.
func (l *Log) Errorf(format string, args ...any) {
	for _, line := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		fmt.Fprintf(l.stderr, "left4me-generator: %s\n", line)
		switch {
		case l.kmsg != nil:
			// One write is one kmsg record; <3> is its syslog priority.
			_, _ = io.WriteString(l.kmsg, "<3>"+l.prefix+line+"\n")
		case l.journal:
			_ = journal.Send(line, journal.PriErr, map[string]string{"SYSLOG_IDENTIFIER": "left4me-generator"})
		}
	}
}

// Close closes the kernel log.
func (l *Log) Close() {
	if l.kmsg != nil {
		_ = l.kmsg.Close()
	}
}
