// Package lastwords keeps the one line a command wants said if the process
// is killed now (a second Ctrl-C, which quits at once): what it leaves
// behind and what puts it right, such as "srv1 is stopped: left4me start
// srv1 starts it". The command sets it as it goes; the signal watcher says
// it before the process dies, and nothing changes it after.
package lastwords

import (
	"sync"
	"sync/atomic"
	"time"
)

// Line is the line; its zero value says nothing, and a nil *Line takes
// every call and says nothing (a command run without a watcher).
type Line struct {
	// step is held while a step the line tells of runs (Do), and by Final
	// for good: what Final says is what the disk holds.
	step sync.Mutex
	text atomic.Pointer[string]
}

// Set makes s the line ("": nothing would be left).
func (l *Line) Set(s string) {
	if l == nil {
		return
	}
	l.step.Lock()
	l.text.Store(&s)
	l.step.Unlock()
}

// Do runs step, which changes what would be left (a rename), and makes
// after the line if it succeeded, as one: Final meanwhile waits for it.
// step must be short.
func (l *Line) Do(after string, step func() error) error {
	if l == nil {
		return step()
	}
	l.step.Lock()
	defer l.step.Unlock()
	if err := step(); err != nil {
		return err
	}
	l.text.Store(&after)
	return nil
}

// String is the line as it stands.
func (l *Line) String() string {
	if l == nil {
		return ""
	}
	if s := l.text.Load(); s != nil {
		return *s
	}
	return ""
}

// Final is the line for the process's last words: it waits (up to wait)
// for a step under way, and keeps every later Set and Do waiting for
// good, so the line stays true until the process is gone.
func (l *Line) Final(wait time.Duration) string {
	if l == nil {
		return ""
	}
	for end := time.Now().Add(wait); !l.step.TryLock(); {
		if time.Now().After(end) {
			return l.String() // a step that hangs: the line before it
		}
		time.Sleep(time.Millisecond)
	}
	return l.String()
}
