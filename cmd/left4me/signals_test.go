package main

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// recorder is what watchSignals did, in order.
type recorder struct {
	mu    sync.Mutex
	steps []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.steps = append(r.steps, s); r.mu.Unlock() }

func (r *recorder) Write(p []byte) (int, error) {
	r.add("say " + strings.TrimSpace(string(p)))
	return len(p), nil
}

// The interrupt message comes from a signal only: a command that ends
// (done closed) says nothing, whatever the timing, and is not canceled;
// a signal releases the handling (a second one kills), says so once and
// cancels the command's context, in that order.
func TestWatchSignals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal os.Signal // sent before done is closed; nil: none
		runs   int       // the race the message lost: run many times
		want   []string
	}{
		{"command ends", nil, 1000, nil},
		{"SIGINT", os.Interrupt, 1, []string{"release", "say " + interruptedMsg, "cancel"}},
		{"SIGTERM", syscall.SIGTERM, 1, []string{"release", "say " + interruptedMsg, "cancel"}},
		{"SIGHUP", syscall.SIGHUP, 1, []string{"release", "say " + interruptedMsg, "cancel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range tc.runs {
				var r recorder
				ctx, cancel := context.WithCancel(context.Background())
				sigs, done, watched := make(chan os.Signal, 1), make(chan struct{}), make(chan struct{})
				go func() {
					defer close(watched)
					watchSignals(sigs, done, func() { r.add("release") }, func() { r.add("cancel"); cancel() }, &r)
				}()
				if tc.signal != nil {
					sigs <- tc.signal
					<-ctx.Done() // the command notices, then ends
				}
				close(done)
				<-watched
				sigs <- syscall.SIGINT // after the end: nobody listens, nothing said
				if strings.Join(r.steps, "|") != strings.Join(tc.want, "|") {
					t.Fatalf("steps %q, want %q", r.steps, tc.want)
				}
				if (ctx.Err() != nil) != (tc.signal != nil) {
					t.Fatalf("canceled %v without a signal", ctx.Err())
				}
				cancel()
			}
		})
	}
}
