package commands

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestStopWhenEmpty(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "b", "port: 27002\n")
	te.spec(t, "c", "port: 27003\n")
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	asked := map[int]int{}
	// a empties on the third poll, b never answers (down or hung), c stays
	// occupied past the deadline.
	te.Players = func(_ context.Context, addr string) (int, error) {
		port, _ := strconv.Atoi(strings.TrimPrefix(addr, "127.0.0.1:"))
		asked[port]++
		switch {
		case port == 27002:
			return 0, errors.New("no reply")
		case port == 27001 && asked[port] >= 3:
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
	if !strings.Contains(te.out.String(), "c: 4 player(s) on port 27003; waiting") {
		t.Errorf("stdout %q", te.out.String())
	}
}
