package main

import (
	"bufio"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// stdio is the engine's C stdio stdout: line-buffered on a terminal, fully
// buffered (a 4096-byte buffer, glibc's BUFSIZ for a pipe) otherwise: "the
// standard output stream is fully buffered if and only if the stream can
// be determined not to refer to an interactive device" (ISO C 7.21.3p7).
// Under systemd without a terminal, a line reaches the journal only when
// 4 KiB have gathered or the program exits normally, and what is buffered
// when it is killed is lost: the symptom srcds shows there (and Source
// server container images without a TTY).
type stdio struct {
	mu   sync.Mutex
	w    *bufio.Writer
	line bool // flush at every newline
}

// newStdio wraps f. mode "line" forces line buffering: only the stand-in's
// own unit tests, which read its output through a pipe, set it
// (STANDIN_STDIO=line); the real engine has no such switch.
func newStdio(f *os.File, mode string) *stdio {
	return &stdio{w: bufio.NewWriterSize(f, 4096), line: mode == "line" || isTerminal(f)}
}

func (s *stdio) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.w.Write(p)
	if err == nil && s.line && strings.ContainsRune(string(p), '\n') {
		err = s.w.Flush()
	}
	return n, err
}

// Flush is exit()'s flush of stdout; a killed process never gets there.
func (s *stdio) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.w.Flush()
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

var _ io.Writer = (*stdio)(nil)
