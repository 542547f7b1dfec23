package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/lastwords"
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

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.steps, "|")
}

// watch runs watchSignals as main does, recording into r; died is closed
// once it called die.
func watch(r *recorder, last *lastwords.Line, echo time.Duration) (ctx context.Context, sigs chan os.Signal, done, watched, died chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs, done, watched, died = make(chan os.Signal, 1), make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		watchSignals(sigs, done, func() { r.add("release") }, func() { r.add("cancel"); cancel() }, r, last,
			func(s os.Signal) { r.add("die " + s.String()); close(died) }, echo)
	}()
	return ctx, sigs, done, watched, died
}

// The interrupt message comes from a signal only: a command that ends
// (done closed) says nothing, whatever the timing, and is not canceled;
// a signal says so once and cancels the command's context, in that
// order; a second one says what the command leaves (its last words, if
// any), gives the handling back (a third one kills as the default
// action) and dies by the signal.
func TestWatchSignals(t *testing.T) {
	const words = "srv1 is stopped: `left4me start srv1` starts it"
	first := []string{"say " + interruptedMsg, "cancel"}
	for _, tc := range []struct {
		name    string
		signals []os.Signal // sent before done is closed
		words   string      // the command's last words when the second comes
		runs    int         // the race the message lost: run many times
		echo    time.Duration
		want    []string
	}{
		{"command ends", nil, "", 1000, 0, nil},
		{"SIGINT", []os.Signal{os.Interrupt}, "", 1, 0, first},
		{"SIGTERM", []os.Signal{syscall.SIGTERM}, "", 1, 0, first},
		{"SIGHUP", []os.Signal{syscall.SIGHUP}, "", 1, 0, first},
		{"words but one signal", []os.Signal{os.Interrupt}, words, 1, 0, first},
		{"twice", []os.Signal{os.Interrupt, os.Interrupt}, "", 1, 0, append(first, "say "+quitMsg, "release", "die interrupt")},
		{"twice, with last words", []os.Signal{os.Interrupt, syscall.SIGTERM}, words, 1, 0, append(first, "say "+quitMsg+": "+words, "release", "die terminated")},
		// timeout(1) signals its child, then the group: one interrupt.
		{"twice at once", []os.Signal{os.Interrupt, os.Interrupt}, words, 1, time.Hour, first},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range tc.runs {
				var r recorder
				last := &lastwords.Line{}
				last.Set(tc.words)
				ctx, sigs, done, watched, died := watch(&r, last, tc.echo)
				for i, s := range tc.signals {
					sigs <- s
					if i == 0 {
						<-ctx.Done() // the command notices
					}
				}
				if len(tc.signals) > 1 && tc.echo == 0 {
					<-died
				} else {
					close(done) // the command ends
					<-watched
					sigs <- syscall.SIGINT // after the end: nobody listens, nothing said
				}
				if r.String() != strings.Join(tc.want, "|") {
					t.Fatalf("steps %q, want %q", r.steps, tc.want)
				}
				if (ctx.Err() != nil) != (len(tc.signals) > 0) {
					t.Fatalf("canceled %v with %d signals", ctx.Err(), len(tc.signals))
				}
			}
		})
	}
}

// What the second signal says is what the disk holds: it waits for a
// step the words tell of (a rename) to end and says the words after it,
// and nothing changes them once said (the process is dying).
func TestLastWordsAreTrue(t *testing.T) {
	var r recorder
	last := &lastwords.Line{}
	last.Set("before the rename")
	ctx, sigs, _, _, died := watch(&r, last, 0)
	sigs <- os.Interrupt
	<-ctx.Done()
	inStep, endStep, stepDone := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		stepDone <- last.Do("after the rename", func() error { close(inStep); <-endStep; return nil })
	}()
	<-inStep
	sigs <- os.Interrupt
	time.Sleep(50 * time.Millisecond)
	if strings.Contains(r.String(), quitMsg) {
		t.Fatalf("said during the step: %s", r.String())
	}
	close(endStep)
	<-died
	if err := <-stepDone; err != nil {
		t.Fatal(err)
	}
	if want := "say " + quitMsg + ": after the rename"; !strings.Contains(r.String(), want) {
		t.Errorf("said %s, want %q", r.String(), want)
	}
	// The command goes on until the signal kills it: it changes nothing
	// the words said.
	set := make(chan struct{})
	go func() { last.Set("later"); close(set) }()
	select {
	case <-set:
		t.Error("the words changed after they were said")
	case <-time.After(50 * time.Millisecond):
	}
}

// die ends the process by the signal, as its default action would: a
// shell sees a death by SIGINT (and a script stops there), not an exit.
func TestDieBySignal(t *testing.T) {
	if os.Getenv("LEFT4ME_TEST_DIE") == "1" {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt)
		signal.Stop(sigs) // release
		die(os.Interrupt)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDieBySignal$")
	cmd.Env = append(os.Environ(), "LEFT4ME_TEST_DIE=1")
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the child: %v", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("the child ended with %v, want killed by SIGINT", ee)
	}
}
