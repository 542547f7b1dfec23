package commands

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// emptyPoll paces player-count queries while waiting for servers to empty.
const emptyPoll = 5 * time.Second

// waitEmpty calls act for each instance as soon as its server reports no
// players (or does not answer at all: nobody can be playing on it), until
// deadline. Instances still occupied then are left alone and named in the
// error, so a restart never kicks players.
func (e *Env) waitEmpty(ctx context.Context, names []string, deadline time.Duration, act func(name string) error) error {
	ports := map[string]int{}
	addrs := map[string]string{}
	for _, n := range names {
		s, err := e.load(n)
		if err != nil {
			return err
		}
		ports[n], addrs[n] = s.Port, s.QueryAddr()
	}
	end := e.Now().Add(deadline)
	for {
		for _, n := range sortedKeys(ports) {
			players, err := e.Players(ctx, addrs[n])
			if err != nil || players == 0 {
				delete(ports, n)
				if err := act(n); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(e.Stdout, "%s: %d player(s) on port %d; waiting\n", n, players, ports[n])
		}
		if len(ports) == 0 {
			return nil
		}
		if !e.Now().Before(end) {
			return fmt.Errorf("%w: still occupied after %v, left running: %s", fail.ErrJobFailed, deadline, strings.Join(sortedKeys(ports), ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(e.pollEvery(), end.Sub(e.Now())+time.Millisecond)):
		}
	}
}

func (e *Env) pollEvery() time.Duration {
	if e.EmptyPoll > 0 {
		return e.EmptyPoll
	}
	return emptyPoll
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
