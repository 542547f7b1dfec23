package web

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"time"
)

// sseWriter turns a command's output into server-sent events, one per
// line, each flushed as it comes.
type sseWriter struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	flusher http.Flusher
	partial []byte
}

func (s *sseWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		// An event's data may hold no line break of its own.
		line := strings.ReplaceAll(string(s.partial[:i]), "\r", "")
		s.partial = s.partial[i+1:]
		if _, err := s.w.Write([]byte("data: " + line + "\n\n")); err != nil {
			return 0, err
		}
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	return len(p), nil
}

// stream is the server's output as it comes, through the relay's console
// socket (left4me console NAME, with its checks and escaping), until the
// page goes away.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, _ Session) {
	// A stream has no deadline: a server's WriteTimeout (or a read
	// deadline left set) would cut it.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	sw := &sseWriter{w: w, flusher: fl}
	if err := s.Attach(r.Context(), r.PathValue("name"), sw); err != nil && r.Context().Err() == nil {
		_, _ = sw.Write([]byte(err.Error() + "\n"))
	}
}
