package lastwords

import (
	"errors"
	"testing"
	"time"
)

// The line is what was set last, or what a step that succeeded made it;
// a nil Line takes every call; Final waits for a step, at most so long.
func TestLine(t *testing.T) {
	var nl *Line
	nl.Set("x")
	if err := nl.Do("y", func() error { return nil }); err != nil || nl.String() != "" || nl.Final(0) != "" {
		t.Errorf("a nil Line: %v %q", err, nl.String())
	}
	var l Line
	if l.String() != "" {
		t.Errorf("zero value says %q", l.String())
	}
	l.Set("stopped")
	if err := l.Do("swapped", func() error { return errors.New("rename failed") }); err == nil || l.String() != "stopped" {
		t.Errorf("a failed step changed the line to %q (%v)", l.String(), err)
	}
	if err := l.Do("swapped", func() error { return nil }); err != nil || l.String() != "swapped" {
		t.Errorf("after the step: %q, %v", l.String(), err)
	}
	// A step that hangs does not hold the last words up for longer.
	hung := make(chan struct{})
	defer close(hung)
	go l.Do("never", func() error { <-hung; return nil })
	for l.step.TryLock() { // until the step holds it
		l.step.Unlock()
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if got := l.Final(20 * time.Millisecond); got != "swapped" || time.Since(start) > time.Second {
		t.Errorf("Final during a hung step: %q after %v", got, time.Since(start))
	}
}
