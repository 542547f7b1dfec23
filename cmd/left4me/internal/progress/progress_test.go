package progress

import (
	"fmt"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
)

func line(pct float64, done int64) string {
	return fmt.Sprintf(" Update state (0x61) downloading, progress: %.2f (%d / 9139527925)", pct, done)
}

func TestJournalThinsProgress(t *testing.T) {
	var b strings.Builder
	p := &Printer{W: &b}
	p.Line("Loading Steam API...OK")
	for i := 0; i <= 100; i++ {
		p.Line(line(float64(i), int64(i)*91395279))
	}
	p.Line(" Update state (0x81) verifying update, progress: 3.00 (3 / 100)")
	p.Line("Success! App '222860' fully installed.")
	p.Done()
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	// The first line, one per tenth (0..100: 11), the new state, success.
	if len(lines) != 14 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	want := []string{"steamcmd: Loading Steam API...OK", "steamcmd: downloading   0.0% (0 B of 8.5 GiB)",
		"steamcmd: downloading  10.0% (871.6 MiB of 8.5 GiB)"}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d: %q, want %q", i, lines[i], w)
		}
	}
	if lines[12] != "steamcmd: verifying update   3.0% (3 B of 100 B)" || strings.Contains(b.String(), "\r") {
		t.Errorf("%q", lines[12])
	}
}

func TestTerminalBar(t *testing.T) {
	var b strings.Builder
	p := &Printer{W: &b, TTY: true, Width: 10}
	p.Line(line(50, 4569763962))
	p.Line("Warning: something")
	p.Line(line(100, 9139527925))
	p.Done()
	want := "\r\x1b[Kdownloading       [#####-----]  50.0%  4.3 GiB / 8.5 GiB" +
		"\r\x1b[Ksteamcmd: Warning: something\n" +
		"\r\x1b[Kdownloading       [#####-----]  50.0%  4.3 GiB / 8.5 GiB" +
		"\r\x1b[Kdownloading       [##########] 100.0%  8.5 GiB / 8.5 GiB\n"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

func TestBytes(t *testing.T) {
	cases := map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 20: "5.0 MiB", 9139527925: "8.5 GiB", 5 << 40: "5120.0 GiB"}
	for n, want := range cases {
		if got := Bytes(n); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
	if got := Bar(steamcmd.Progress{State: "x", Percent: 150}, 4); !strings.Contains(got, "[####]") {
		t.Errorf("%q", got)
	}
}
