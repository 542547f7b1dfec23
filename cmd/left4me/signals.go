package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// interruptedMsg is said once, on the first signal, while the command
// finishes what is under way.
const interruptedMsg = "left4me: interrupted: finishing what is under way (Ctrl-C again quits at once)"

// watchSignals waits for the first signal on sigs, or for done (the
// command ended). On a signal it calls release first, so that a second
// one takes its default action and ends the process at once, then says
// so on w and cancels the command's context. Only a signal received says
// anything: the end of a command (done) never does, which a cancel of
// the context could not tell apart from an interrupt (the message used
// to race with the exit of commands nobody interrupted).
func watchSignals(sigs <-chan os.Signal, done <-chan struct{}, release func(), cancel context.CancelFunc, w io.Writer) {
	select {
	case <-done:
		return
	case <-sigs:
	}
	release()
	fmt.Fprintln(w, interruptedMsg)
	cancel()
}
