package dayops

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/console"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/spec/layout"
)

// The names a backup skipped are the server's: printed, none drives the
// terminal or forges a line.
func TestSkippedNamesQuoted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fifos []string
		want  []string // in the output
	}{
		{"plain", []string{"fifo"}, []string{"/upper/fifo"}},
		{"an escape", []string{"evil\x1b]0;PWNED\a\x1b[2J"}, []string{`"evil\x1b]0;PWNED\a\x1b[2J"`}},
		{"a newline", []string{"x\nsrv2: backup 20261205T190000Z: 0 files"}, []string{`"x\nsrv2: backup`}},
		{"a carriage return", []string{"a\rb"}, []string{`"a\rb"`}},
		{"bad UTF-8", []string{"bad\xff"}, []string{`"bad\xff"`}},
		{"many", func() (n []string) {
			for i := 0; i < 30; i++ {
				n = append(n, "f"+strings.Repeat("i", i))
			}
			return n
		}(), []string{"and 10 more"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var stdout, stderr bytes.Buffer
			e := &Env{Env: &unitctl.Env{Env: &console.Env{Env: &clienv.Env{
				Layout: layout.Layout{Root: root, ConfigDir: filepath.Join(root, "etc")},
				Stdout: &stdout, Stderr: &stderr,
				Now: func() time.Time { return time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC) },
			}}}}
			up := filepath.Join(e.Layout.RuntimeDir("srv1"), layout.Upper)
			if err := os.MkdirAll(up, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.fifos {
				if err := unix.Mkfifo(filepath.Join(up, f), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.takeBackup(nil, "srv1", "", 0, 0); err != nil {
				t.Fatal(err)
			}
			out := stdout.String() + stderr.String()
			if lines := strings.Count(out, "\n"); lines != 2 {
				t.Errorf("%d lines, want 2:\n%s", lines, out)
			}
			for i := 0; i < len(out); i++ {
				if c := out[i]; c < 0x20 && c != '\n' || c == 0x7f {
					t.Fatalf("a control character printed raw: %q", out)
				}
			}
			if !utf8.ValidString(out) {
				t.Errorf("invalid UTF-8 printed raw: %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not say %s: %q", w, stderr.String())
				}
			}
		})
	}
}
