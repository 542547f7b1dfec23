package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/lastwords"
)

// interruptedMsg is said once, on the first signal, while the command
// finishes what is under way.
const interruptedMsg = "left4me: interrupted: finishing what is under way (Ctrl-C again quits at once)"

// quitMsg starts what is said on the second signal, before the process
// ends: the command's last words follow, if it left any.
const quitMsg = "left4me: quit at once"

// lastWait bounds how long the second signal waits for a step under way
// to end (a rename), so that what it says is what the disk holds.
const lastWait = time.Second

// sameInterrupt is how soon after the first a signal is taken for the
// same interrupt delivered twice (watchSignals): a person's second Ctrl-C
// comes later than that.
const sameInterrupt = 300 * time.Millisecond

// watchSignals waits for the first signal on sigs, or for done (the
// command ended). On a signal it says so on w and cancels the command's
// context; the command finishes or undoes what is under way. A second
// signal quits at once, as its default action would, but not silently:
// it says what the command would leave behind (last, lastwords), then
// calls release, so that a third takes its default action, and die with
// the signal. Only a signal received says anything: the end of a command
// (done) never does, which a cancel of the context could not tell apart
// from an interrupt (the message used to race with the exit of commands
// nobody interrupted).
//
// A signal within echo of the first is the same interrupt sent twice, not
// a second one: timeout(1) signals its child and then its whole process
// group (coreutils' timeout.c, cleanup()), and a script's kill of a
// process in a group that gets the signal too does the same.
func watchSignals(sigs <-chan os.Signal, done <-chan struct{}, release func(), cancel context.CancelFunc, w io.Writer, last *lastwords.Line, die func(os.Signal), echo time.Duration) {
	select {
	case <-done:
		return
	case <-sigs:
	}
	first := time.Now()
	fmt.Fprintln(w, interruptedMsg)
	cancel()
	var sig os.Signal
	for sig == nil {
		select {
		case <-done:
			return
		case s := <-sigs:
			if time.Since(first) >= echo {
				sig = s
			}
		}
	}
	if words := last.Final(lastWait); words != "" {
		fmt.Fprintln(w, quitMsg+": "+words)
	} else {
		fmt.Fprintln(w, quitMsg)
	}
	release()
	die(sig)
}
