// Package progress shows steamcmd's output to an operator: on a terminal
// its progress lines redraw a single progress bar; elsewhere (the journal
// of left4me-update.service) they are thinned to one per tenth of the way
// or change of state, and every other line passes through.
package progress

import (
	"fmt"
	"io"
	"strings"

	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
)

// Printer writes steamcmd's lines to W. Not safe for concurrent use.
type Printer struct {
	W     io.Writer
	TTY   bool // W is a terminal: draw a bar
	Width int  // of the bar in cells; 0 means 30

	bar       bool // a bar is on the current line
	last      steamcmd.Progress
	shown     bool
	lastTenth int
}

// Line shows one line of steamcmd's output.
func (p *Printer) Line(l string) {
	pr, ok := steamcmd.ParseProgress(l)
	if !ok {
		p.clear()
		fmt.Fprintf(p.W, "steamcmd: %s\n", termsafe.Line(strings.TrimSpace(l)))
		p.redraw()
		return
	}
	if p.TTY {
		p.last, p.shown = pr, true
		p.redraw()
		return
	}
	tenth := int(pr.Percent / 10)
	if p.shown && pr.State == p.last.State && tenth == p.lastTenth && pr.Percent < 100 {
		return
	}
	p.last, p.shown, p.lastTenth = pr, true, tenth
	fmt.Fprintf(p.W, "steamcmd: %s %5.1f%% (%s of %s)\n", termsafe.Line(pr.State), pr.Percent, Bytes(pr.Done), Bytes(pr.Total))
}

// Done ends a bar so that what follows starts on a line of its own.
func (p *Printer) Done() {
	if p.bar {
		fmt.Fprint(p.W, "\n")
		p.bar, p.shown = false, false
	}
}

func (p *Printer) clear() {
	if p.bar {
		fmt.Fprint(p.W, "\r\x1b[K")
		p.bar = false
	}
}

func (p *Printer) redraw() {
	if !p.TTY || !p.shown {
		return
	}
	fmt.Fprint(p.W, "\r\x1b[K"+Bar(p.last, p.Width))
	p.bar = true
}

// Bar renders one progress line: "downloading [#####-----]  45.0%  3.8 GiB / 8.5 GiB".
func Bar(pr steamcmd.Progress, width int) string {
	if width <= 0 {
		width = 30
	}
	full := int(pr.Percent / 100 * float64(width))
	full = min(max(full, 0), width)
	return fmt.Sprintf("%-17s [%s%s] %5.1f%%  %s / %s", termsafe.Line(pr.State), strings.Repeat("#", full), strings.Repeat("-", width-full),
		pr.Percent, Bytes(pr.Done), Bytes(pr.Total))
}

// Bytes is n in B, KiB, MiB or GiB with one decimal.
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 2 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f, "KMG"[i])
}
