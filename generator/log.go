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
	records int // written to kmsg or the journal
	dropped int // messages kept from them by maxRecords
}

// maxRecords bounds the records one run writes: the kernel lets a writer
// of /dev/kmsg put 10 records in 5 s (printk_ratelimit_state of devkmsg,
// burst 10) and drops the rest without a word, so past this the log says
// how many more there are and where to see them.
const maxRecords = 8

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

// Errorf logs one message at priority err (3): every line on stderr, and
// one record in the kernel log or the journal, its lines joined by " | ",
// so that one skipped spec costs one record whatever its problems.
func (l *Log) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	for _, line := range strings.Split(msg, "\n") {
		fmt.Fprintf(l.stderr, "left4me-generator: %s\n", line)
	}
	if l.kmsg == nil && l.journal == "" {
		return
	}
	if l.records >= maxRecords {
		l.dropped++
		return
	}
	l.record(strings.ReplaceAll(msg, "\n", " | "))
}

func (l *Log) record(line string) {
	l.records++
	if l.kmsg != nil {
		// One write is one kmsg record; <3> is its syslog priority.
		_, _ = io.WriteString(l.kmsg, "<3>"+l.prefix+line+"\n")
		return
	}
	_ = sendJournal(l.journal, line)
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

// Close says how many messages maxRecords held back, and closes the
// kernel log.
func (l *Log) Close() {
	if l.dropped > 0 {
		l.record(fmt.Sprintf("%d more message(s) not logged here (the kernel log takes 10 records at a time); `left4me validate` lists every problem", l.dropped))
	}
	if l.kmsg != nil {
		_ = l.kmsg.Close()
	}
}
