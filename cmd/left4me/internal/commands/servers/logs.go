package servers

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/console"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/journal"
)

func LogsCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "show the instance's journal (runs journalctl)",
		ArgsUsage: "NAME",
		Description: `Runs journalctl --unit l4d2@NAME.service. Reading other units' logs may
need root or membership in the systemd-journal group.

--since, --until, -o and --no-pager go to journalctl as they are.

Examples:
  left4me logs srv1 -n 50
  left4me logs srv1 -f
  left4me logs srv1 --since "1 hour ago" --until now -o short-iso --no-pager`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new lines"},
			&cli.IntFlag{Name: "lines", Aliases: []string{"n"}, Usage: "show the last `N` lines (default: all; 10 with -f)"},
			&cli.StringFlag{Name: "since", Usage: "journalctl --since `TIME`"},
			&cli.StringFlag{Name: "until", Usage: "journalctl --until `TIME`"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "journalctl -o `FORMAT` (short, short-iso, cat, json, ...)"},
			&cli.BoolFlag{Name: "no-pager", Usage: "journalctl --no-pager"},
		},
		BashComplete: e.CompleteNames,
		Action: clienv.OnName(func(c *cli.Context, name string) error {
			var extra []string
			for _, f := range []string{"since", "until", "output"} {
				if v := c.String(f); v != "" {
					extra = append(extra, "--"+f, v)
				}
			}
			if c.Bool("no-pager") {
				extra = append(extra, "--no-pager")
			}
			return e.Logs(c.Context, name, c.Int("lines"), c.Bool("follow"), extra)
		}),
	}
}

func (e *Env) Logs(ctx context.Context, name string, lines int, follow bool, extra []string) error {
	if lines < 0 {
		return fmt.Errorf("%w: -n %d: the number of lines must be 0 or more", fail.ErrUsage, lines)
	}
	if _, err := e.Instance(name); err != nil {
		return fmt.Errorf("%w\n(the journal of a deleted instance stays readable: journalctl -u %s)", err, clienv.UnitOf(name))
	}
	args := append(journal.Args(clienv.UnitOf(name), lines, follow), extra...)
	if !rawOutput(extra) {
		return e.Journal(ctx, args, e.Stdout, e.Stderr)
	}
	// -o cat prints the server's lines as they are: escape them (journalctl
	// shows other formats' unprintable messages as "[N blob data]").
	pr, pw := io.Pipe()
	copied := make(chan error, 1)
	go func() {
		err := console.CopyEscaped(e.Stdout, pr)
		_ = pr.CloseWithError(err)
		copied <- err
	}()
	err := e.Journal(ctx, args, pw, e.Stderr)
	_ = pw.Close()
	return errors.Join(err, <-copied)
}

// rawOutput reports whether journalctl's -o format prints messages as
// they are.
func rawOutput(extra []string) bool {
	for i := 0; i+1 < len(extra); i++ {
		if extra[i] == "--output" && (extra[i+1] == "cat" || extra[i+1] == "with-unit") {
			return true
		}
	}
	return false
}
