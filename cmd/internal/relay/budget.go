package relay

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of a server's log budget (Budget): well above what a busy
// server with plugins prints (a line of some 100 bytes per event, a few
// dozen KiB while it loads a map), well below what a plugin printing in a
// loop can. journald's own per-unit rate limit counts messages, not bytes
// (RateLimitBurst=, modulated by free space, src/journal/journald-rate-
// limit.c), and a relayed line may be 16 KiB: one server could rotate its
// neighbours' history out of a size-capped journal within minutes.
const (
	DefaultLogRate  = 16 << 10 // bytes a second, on average
	DefaultLogBurst = 1 << 20  // bytes at once
	// LineCost is what each line costs beyond its bytes: about a
	// journal entry's own fields and index.
	LineCost = 256
)

// Budget passes the server's lines on while they stay within a token
// bucket of bytes (Rate a second, up to Burst at once) and drops them
// beyond it, saying so on Notice: when it starts dropping, and how much it
// dropped once it passes lines again. Having dropped, it waits until half
// the burst is back, so what passes comes in runs, not every other line.
// The relay's own lines do not go through it. Safe for concurrent use.
type Budget struct {
	Out    io.Writer
	Notice io.Writer
	Rate   int64 // bytes a second; 0 passes everything
	Burst  int64
	Now    func() time.Time

	mu       sync.Mutex
	tokens   float64
	last     time.Time
	started  bool
	dropping bool
	lines    int64
	bytes    int64
}

// Write passes or drops one line (the relay writes one at a time).
func (b *Budget) Write(p []byte) (int, error) {
	if b.Rate <= 0 {
		return b.Out.Write(p)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.Now()
	if !b.started {
		b.started, b.tokens, b.last = true, float64(b.Burst), now
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(b.Burst), b.tokens+d.Seconds()*float64(b.Rate))
	}
	b.last = now
	// A journal entry costs hundreds of bytes whatever its text: short
	// lines are charged that much, or a flood of them would pass.
	n := float64(len(p) + LineCost)
	if b.dropping && b.tokens >= max(n, float64(b.Burst)/2) {
		b.report()
	}
	if b.dropping || b.tokens < n {
		if !b.dropping {
			b.dropping = true
			fmt.Fprintf(b.Notice, "left4me-relay: the server prints more than its log budget (%s a second, %s at once): its lines are dropped until it slows down (LEFT4ME_LOG_BUDGET in the unit's environment sets the budget)\n",
				size(b.Rate), size(b.Burst))
		}
		b.lines++
		b.bytes += int64(len(p))
		return len(p), nil
	}
	b.tokens -= n
	return b.Out.Write(p)
}

// Tick closes a dropping episode the server ended by going quiet: once
// half the burst is back, what was dropped is reported (the relay calls
// it every second; otherwise only the server's next line would).
func (b *Budget) Tick() {
	if b.Rate <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.dropping {
		return
	}
	now := b.Now()
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(float64(b.Burst), b.tokens+d.Seconds()*float64(b.Rate))
	}
	b.last = now
	if b.tokens >= float64(b.Burst)/2 {
		b.report()
	}
}

// Flush reports what was dropped and not yet reported (at the end).
func (b *Budget) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dropping {
		b.report()
	}
}

func (b *Budget) report() {
	fmt.Fprintf(b.Notice, "left4me-relay: %d lines (%s) of the server's output were dropped over its log budget\n", b.lines, size(b.bytes))
	b.dropping, b.lines, b.bytes = false, 0, 0
}

// ParseLogBudget reads LEFT4ME_LOG_BUDGET: "RATE BURST", each a size in
// bytes with an optional K, M or G (1024-based, either case) as systemd's
// sizes, the rate a second ("64K 4M"); "0" or "off" passes everything.
func ParseLogBudget(v string) (rate, burst int64, err error) {
	f := strings.Fields(v)
	if len(f) == 1 && (f[0] == "0" || f[0] == "off") {
		return 0, 0, nil
	}
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("LEFT4ME_LOG_BUDGET=%q: want \"RATE BURST\" in bytes, such as \"16K 1M\", or \"off\"", v)
	}
	if rate, err = parseBytes(f[0]); err == nil {
		burst, err = parseBytes(f[1])
	}
	if err == nil && burst < 2*maxLine {
		err = fmt.Errorf("the burst %s is below 32K, two of the longest lines the relay passes", f[1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("LEFT4ME_LOG_BUDGET=%q: %w", v, err)
	}
	return rate, burst, nil
}

func parseBytes(s string) (int64, error) {
	num, mult := s, int64(1)
	if i := len(s) - 1; i > 0 {
		if k := strings.IndexByte("KMGkmg", s[i]); k >= 0 {
			k %= 3
			num, mult = s[:i], int64(1)<<(10*(k+1))
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 64K or 4M", s)
	}
	return n * mult, nil
}

// size is n bytes for a person (KiB and MiB as the budget is given).
func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10:
		return strconv.FormatInt((n+512)>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " B"
}
