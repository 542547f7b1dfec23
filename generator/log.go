package generator

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Log writes each message to stderr and to the kernel log. Generators run
// before journald; the kernel log is how `journalctl -b` gets the reason a
// spec was skipped, and stderr is what `systemd-analyze --generators verify`
// shows. Where there is no /dev/kmsg (containers), a daemon-reload still
// reaches the running journald through its socket.
type Log struct {
	stderr  io.Writer
	kmsg    io.WriteCloser // nil when /dev/kmsg cannot be opened
	journal string         // journald's socket when kmsg is missing, else ""
	prefix  string
}

// JournalSocket is where journald takes native protocol datagrams.
const JournalSocket = "/run/systemd/journal/socket"

// NewLog opens kmsgPath for writing; failing that it sends to the journald
// socket at journalSocket if there is one, else it logs to stderr only.
func NewLog(stderr io.Writer, kmsgPath, journalSocket string) *Log {
	l := &Log{stderr: stderr, prefix: fmt.Sprintf("left4me-generator[%d]: ", os.Getpid())}
	if f, err := os.OpenFile(kmsgPath, os.O_WRONLY, 0); err == nil {
		l.kmsg = f
	} else if st, err := os.Stat(journalSocket); err == nil && st.Mode()&os.ModeSocket != 0 {
		l.journal = journalSocket
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
		case l.journal != "":
			_ = sendJournal(l.journal, line)
		}
	}
}

// sendJournal sends one line at priority err in journald's native protocol
// (KEY=value lines in one datagram; a line holds no newline). Written here
// rather than with go-systemd's journal package, which links package net:
// its initialisation alone costs the generator about 0.5 ms at every boot.
func sendJournal(socket, line string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	msg := "PRIORITY=3\nSYSLOG_IDENTIFIER=left4me-generator\nMESSAGE=" + line + "\n"
	return unix.Sendto(fd, []byte(msg), 0, &unix.SockaddrUnix{Name: socket})
}

// Close closes the kernel log.
func (l *Log) Close() {
	if l.kmsg != nil {
		_ = l.kmsg.Close()
	}
}
