package unitctl

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/cmd/left4me/internal/specedit"
	"github.com/left4me/left4me/spec"
)

func AutostartCmd(e *Env, on bool) *cli.Command {
	name, usage := "enable", "start the instance at boot (autostart: true), then reload systemd"
	if !on {
		name, usage = "disable", "do not start the instance at boot (autostart: false), then reload systemd"
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "NAME",
		Description: `Changes only the autostart value in the spec; comments and layout stay
as written. After the reload, l4d2.target wants (or no longer wants)
l4d2@NAME.service: the AUTOSTART column of left4me list, or
systemctl show -p Wants l4d2.target. With --now it also ` + map[bool]string{true: "starts", false: "stops"}[on] + ` the
instance now, as systemctl ` + name + ` --now does (systemctl ` + name + ` itself does not
work on generated units: autostart: in the spec is the switch). Writing
to /etc/left4me needs root.

Examples:
  left4me ` + name + ` srv1
  left4me ` + name + ` --now srv1`,
		Flags:        []cli.Flag{&cli.BoolFlag{Name: "now", Usage: map[bool]string{true: "start the instance now too", false: "stop the instance now too"}[on]}},
		BashComplete: e.CompleteNames,
		Action: func(c *cli.Context) error {
			n, err := clienv.OneName(c)
			if err != nil {
				return err
			}
			if err := e.setAutostart(c.Context, n, on); err != nil || !c.Bool("now") {
				return err
			}
			op := map[bool]string{true: "start", false: "stop"}[on]
			return e.UnitOp(c.Context, rollout.Plan{Op: op, Names: []string{n}})
		},
	}
}

func (e *Env) setAutostart(ctx context.Context, name string, on bool) error {
	if _, err := e.Load(name); err != nil {
		return err
	}
	// Read, edit, write: not interleaved with another command's edit.
	path, release, err := e.LockSpecFile(ctx, name, fmt.Sprintf("set autostart: %t in it", on))
	if err != nil {
		return err
	}
	defer release()
	data, err := os.ReadFile(path)
	if err != nil {
		return fail.NeedsRoot(fmt.Errorf("read %s: %w", path, err), "reading "+path)
	}
	out, changed, err := specedit.SetAutostart(data, on)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if changed {
		// The edit must leave a spec the generator accepts, with the value
		// asked, judged with the others: rewritten, it becomes the newest
		// spec, which loses a port another spec also claims.
		if s, err := spec.JudgeText(e.Layout, name, out, ""); err != nil || s.Autostart != on {
			return fail.NeedsRoot(fmt.Errorf("%s: the spec would not be valid after the edit (%w); nothing was written", path, err), "reading "+e.Layout.InstancesDir())
		}
		if err := specedit.Replace(path, out); err != nil {
			return fail.NeedsRoot(err, "writing "+path)
		}
	}
	verb := "on: l4d2.target starts it at boot"
	if !on {
		verb = "off: it is not started at boot"
	}
	if !changed {
		verb = "was already " + verb
	}
	fmt.Fprintf(e.Stdout, "%s: autostart %s\n", name, verb)
	return e.Reload(ctx, nil, "the spec was written")
}
