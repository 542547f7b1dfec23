package relay

import (
	"strings"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	line := strings.Repeat("x", 1000-LineCost-1) + "\n" // costs 1000 with LineCost
	type step struct {
		wait  time.Duration // before the lines
		lines int           // tick: none, a Tick instead
	}
	const tick = -1
	for _, tc := range []struct {
		name        string
		rate, burst int64
		steps       []step
		passed      int
		notices     []string // in order, each a substring
	}{
		{name: "within the burst", rate: 1000, burst: 10000, steps: []step{{0, 10}}, passed: 10},
		{name: "over the burst: dropped, said once", rate: 1000, burst: 10000, steps: []step{{0, 25}}, passed: 10,
			notices: []string{"more than its log budget (1000 B a second, 10 KiB at once)"}},
		{name: "refilled at the rate", rate: 1000, burst: 10000, steps: []step{{0, 10}, {3 * time.Second, 5}}, passed: 13,
			notices: []string{"more than its log budget"}},
		// Having dropped, it waits for half the burst: then passes a run
		// and reports what it dropped.
		{name: "resumes at half the burst", rate: 1000, burst: 10000, steps: []step{{0, 12}, {4 * time.Second, 1}, {2 * time.Second, 7}}, passed: 16,
			notices: []string{"more than its log budget", "3 lines (2 KiB) of the server's output were dropped", "more than its log budget"}},
		{name: "flush reports the rest", rate: 1000, burst: 10000, steps: []step{{0, 14}, {-1, 0}}, passed: 10,
			notices: []string{"more than its log budget", "4 lines (3 KiB)"}},
		// A server gone quiet: the tick closes the episode once half the
		// burst is back, not before.
		{name: "a tick reports once it is back", rate: 1000, burst: 10000, steps: []step{{0, 12}, {4 * time.Second, tick}, {2 * time.Second, tick}, {time.Second, tick}},
			passed: 10, notices: []string{"more than its log budget", "2 lines (1 KiB) of the server's output were dropped"}},
		{name: "off", rate: 0, burst: 0, steps: []step{{0, 1000}}, passed: 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, notice lines
			now := time.Unix(1000, 0)
			b := &Budget{Out: &out, Notice: &notice, Rate: tc.rate, Burst: tc.burst, Now: func() time.Time { return now }}
			for _, s := range tc.steps {
				if s.wait < 0 {
					b.Flush()
					continue
				}
				now = now.Add(s.wait)
				if s.lines == tick {
					b.Tick()
				}
				for i := 0; i < s.lines; i++ {
					if n, err := b.Write([]byte(line)); n != len(line) || err != nil {
						t.Fatalf("Write: %d %v", n, err)
					}
				}
			}
			if got := strings.Count(out.String(), "\n"); got != tc.passed {
				t.Errorf("passed %d lines, want %d", got, tc.passed)
			}
			got := strings.Split(strings.TrimSpace(notice.String()), "\n")
			if notice.String() == "" {
				got = nil
			}
			if len(got) != len(tc.notices) {
				t.Fatalf("notices %q, want %d", got, len(tc.notices))
			}
			for i, want := range tc.notices {
				if !strings.Contains(got[i], want) {
					t.Errorf("notice %d: %q, want %q in it", i, got[i], want)
				}
			}
		})
	}
}

// A flood of short lines is charged per journal entry, not per byte.
func TestBudgetShortLines(t *testing.T) {
	var out, notice lines
	now := time.Unix(1000, 0)
	b := &Budget{Out: &out, Notice: &notice, Rate: DefaultLogRate, Burst: DefaultLogBurst, Now: func() time.Time { return now }}
	for i := 0; i < 100000; i++ {
		_, _ = b.Write([]byte("a\n"))
	}
	if got, most := strings.Count(out.String(), "\n"), DefaultLogBurst/(2+LineCost); got > most {
		t.Errorf("%d one-character lines passed at once, want at most %d", got, most)
	}
}

// A NUL is shown, not passed: journald would start a new entry there,
// with a priority of the server's choosing.
func TestNULIsText(t *testing.T) {
	var out lines
	if err := copyLines(strings.NewReader("plain\x00<0>forged\n"), &out, func([]byte) {}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != `plain\x00<0>forged`+"\n" {
		t.Errorf("relayed %q", got)
	}
}

func TestParseLogBudget(t *testing.T) {
	for _, tc := range []struct {
		in          string
		rate, burst int64
		err         string
	}{
		{in: "16K 1M", rate: 16 << 10, burst: 1 << 20},
		{in: " 64K   4M ", rate: 64 << 10, burst: 4 << 20},
		{in: "100 1G", rate: 100, burst: 1 << 30},
		{in: "64k 4m", rate: 64 << 10, burst: 4 << 20},
		{in: "off"}, {in: "0"},
		{in: "16K", err: `want "RATE BURST"`},
		{in: "16K 1M 3", err: `want "RATE BURST"`},
		{in: "16X 1M", err: `"16X" is not a size`},
		{in: "-1 1M", err: `"-1" is not a size`},
		{in: "16K 16K", err: "below 32K"},
	} {
		rate, burst, err := ParseLogBudget(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "LEFT4ME_LOG_BUDGET")):
			t.Errorf("%q: %v, want an error naming the variable with %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || rate != tc.rate || burst != tc.burst):
			t.Errorf("%q: %d %d %v, want %d %d", tc.in, rate, burst, err, tc.rate, tc.burst)
		}
	}
}
