package commands

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestStopWhenEmpty(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 1\n")
	te.spec(t, "b", "port: 2\n")
	te.spec(t, "c", "port: 3\n")
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	asked := map[int]int{}
	// a empties on the third poll, b never answers (down or hung), c stays
	// occupied past the deadline.
	te.Players = func(_ context.Context, port int) (int, error) {
		asked[port]++
		switch {
		case port == 2:
			return 0, errors.New("no reply")
		case port == 1 && asked[port] >= 3:
			return 0, nil
		}
		return 4, nil
	}
	err := te.run("stop", "--when-empty", "--deadline", "200ms", "a", "b", "c")
	if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(err.Error(), "still occupied after 200ms, left running: c") {
		t.Fatalf("got %v", err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "stop l4d2@b.service,stop l4d2@a.service" {
		t.Errorf("calls %s", got)
	}
	if !strings.Contains(te.out.String(), "c: 4 player(s) on port 3; waiting") {
		t.Errorf("stdout %q", te.out.String())
	}
}
