package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestRun(t *testing.T) {
	cases := []struct {
		name    string
		plan    Plan
		fails   string         // instance whose job fails
		players map[string]int // humans, constant
		acted   string
		err     string
	}{
		{"all at once", Plan{Op: "restart", Names: []string{"a", "b", "c"}}, "", nil, "a,b,c", ""},
		{"one failure, not rolling", Plan{Op: "stop", Names: []string{"a", "b", "c"}}, "b", nil, "a,b,c", "stop failed for 1 of 3"},
		{"rolling ends at the first failure", Plan{Op: "restart", Names: []string{"a", "b", "c"}, Rolling: true}, "b", nil, "a,b",
			"b: restart failed; the rolling restart stopped there, not restarted: c"},
		{"occupied until the deadline", Plan{Op: "restart", Names: []string{"c", "a", "b"}, WhenEmpty: 30 * time.Millisecond}, "", map[string]int{"b": 3}, "a,c",
			"still occupied after 30ms, left running: b"},
		{"bots are no players", Plan{Op: "restart", Names: []string{"a"}, WhenEmpty: time.Second}, "", map[string]int{"a": 0}, "a", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var acted []string
			var out, errOut strings.Builder
			d := Deps{
				Act: func(_ context.Context, n string) error {
					acted = append(acted, n)
					if n == c.fails {
						return fmt.Errorf("%s %s: %w", c.plan.Op, n, fail.ErrJobFailed)
					}
					return nil
				},
				Humans: func(_ context.Context, n string) (int, error) { return c.players[n], nil },
				Where:  func(n string) string { return "port 1" },
				Now:    time.Now, Poll: time.Millisecond, Out: &out, ErrOut: &errOut,
			}
			err := Run(context.Background(), c.plan, d)
			if strings.Join(acted, ",") != c.acted {
				t.Errorf("acted on %v, want %s", acted, c.acted)
			}
			if (c.err == "") != (err == nil) || err != nil && (!strings.Contains(err.Error(), c.err) || !errors.Is(err, fail.ErrJobFailed)) {
				t.Errorf("err %v, want %q", err, c.err)
			}
			if c.players["b"] > 0 && !strings.Contains(out.String(), "b: 3 player(s) on port 1; waiting") {
				t.Errorf("progress %q", out.String())
			}
		})
	}
}
