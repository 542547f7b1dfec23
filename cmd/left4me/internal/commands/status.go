package commands

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/journal"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec"
)

// tailLines is how much of the journal status and failures show.
const tailLines = 10

func statusCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "spec summary, unit state, mount and the last log lines of one instance",
		ArgsUsage: "NAME",
		Description: `Example:
  left4me status srv1`,
		BashComplete: e.completeNames,
		Action:       onName(func(c *cli.Context, name string) error { return e.status(c.Context, name) }),
	}
}

func (e *Env) status(ctx context.Context, name string) error {
	path, err := e.instance(name)
	if err != nil {
		return err
	}
	unit := unitOf(name)
	t := &table.Table{Indent: "  "}
	s, specErr := spec.ReadFile(path)
	if specErr != nil {
		t.Row(table.Plain("spec:", path)...)
		t.Row(table.Cell{Text: "problems:"}, table.Cell{Text: "invalid: see `left4me validate " + name + "`", Color: table.Red})
	} else {
		t.Row(table.Plain("spec:", fmt.Sprintf("%s (port %d, autostart %s)", path, s.Port, yesNo(s.Autostart)))...)
		ovs := make([]overlay, len(s.Overlays))
		for i, o := range s.Overlays {
			ovs[i] = overlay(o)
		}
		t.Row(table.Plain("overlays:", overlayList(ovs))...)
	}
	u, sdErr := e.unitState(ctx, unit)
	if sdErr != nil {
		t.Row(table.Cell{Text: "state:"}, table.Cell{Text: "unknown", Color: table.Dim})
	} else {
		t.Row(table.Cell{Text: "state:"}, table.Cell{Text: e.describeState(u), Color: stateColor(u.ActiveState)})
		if u.MainPID != 0 {
			t.Row(table.Plain("main PID:", strconv.FormatUint(uint64(u.MainPID), 10))...)
		}
		if u.Result != "" && u.Result != "success" {
			t.Row(table.Cell{Text: "result:"}, table.Cell{Text: u.Result, Color: table.Red})
		}
	}
	merged := e.Layout.MergedDir(name)
	if m, _ := rundir.Of(e.Layout, name).Mounted(); m {
		t.Row(table.Plain("mounted:", "yes, on "+merged)...)
	} else {
		t.Row(table.Plain("mounted:", "no")...)
	}
	fmt.Fprintf(e.Stdout, "%s - %s\n", e.paint(name, table.Bold), unit)
	if err := t.Write(e.Stdout, e.Color); err != nil {
		return err
	}
	if sdErr == nil && u.NeedReload {
		e.note("the spec changed since systemd last loaded it; `left4me restart %s` reloads and applies it", name)
	}
	fmt.Fprintf(e.Stdout, "\nlast log lines:\n%s", e.tail(ctx, unit))
	return sdErr
}

// unitState fetches one unit's details.
func (e *Env) unitState(ctx context.Context, unit string) (control.Unit, error) {
	sd, err := e.connect(ctx)
	if err != nil {
		return control.Unit{}, err
	}
	defer sd.Close()
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	return sd.Unit(ctx, unit)
}

// describeState reads like systemctl's "Active:" line.
func (e *Env) describeState(u control.Unit) string {
	s := u.ActiveState + " (" + u.SubState + ")"
	if !u.Since.IsZero() {
		ago := e.Now().Sub(u.Since).Round(time.Second)
		s += fmt.Sprintf(" since %s; %s ago", u.Since.Format("2006-01-02 15:04:05 MST"), ago)
	}
	return s
}

// tail is the unit's last journal lines, indented; a failure to read them
// is shown in their place (it must not hide the state above).
func (e *Env) tail(ctx context.Context, unit string) string {
	var out, errb bytes.Buffer
	args := append(journal.Args(unit, tailLines, false), "--no-pager", "--quiet")
	if err := e.Journal(ctx, args, &out, &errb); err != nil {
		return fmt.Sprintf("  (no journal: %v %s)\n", err, strings.TrimSpace(errb.String()))
	}
	if out.Len() == 0 {
		return "  (none)\n"
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
