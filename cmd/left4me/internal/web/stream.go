package web

import (
	"bytes"
	"context"
	"fmt"
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

// maxStreams bounds the console streams open at once, all users
// together, and maxUserStreams one user's: each holds a client of a
// server's relay, and a relay out of descriptors serves no console.
// sessionCheck is how often an open stream's session is judged again: a
// user removed, logged out or expired reads no more.
const (
	maxStreams     = 64
	maxUserStreams = 8
	sessionCheck   = 5 * time.Second
)

// stream is the server's output as it comes, through the relay's console
// socket (left4me console NAME, with its checks and escaping), until the
// page goes away or its session ends.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, sess Session) {
	s.mu.Lock()
	total := 0
	for _, n := range s.streams {
		total += n
	}
	if total >= maxStreams || s.streams[sess.User] >= maxUserStreams {
		s.mu.Unlock()
		http.Error(w, fmt.Sprintf("too many console streams open (%d of yours, %d in all; at most %d and %d): close a page", s.streams[sess.User], total, maxUserStreams, maxStreams), http.StatusTooManyRequests)
		return
	}
	s.streams[sess.User]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.streams[sess.User]--; s.streams[sess.User] == 0 {
			delete(s.streams, sess.User)
		}
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		t := time.NewTicker(sessionCheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c, err := r.Cookie(s.cookie())
				if err == nil {
					_, err = s.Store.Session(c.Value)
				}
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()
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
	if err := s.Attach(ctx, r.PathValue("name"), sw); err != nil && ctx.Err() == nil {
		_, _ = sw.Write([]byte(err.Error() + "\n"))
	}
}
