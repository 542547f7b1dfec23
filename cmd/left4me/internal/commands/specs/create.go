package specs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/specedit"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

func CreateCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "write a new instance spec and reload systemd",
		UsageText: "left4me create NAME --port N [--overlay PATH[=ALIAS]...] [--config LINE...] [--arg ARG...] [--autostart]",
		Description: `Writes instances/NAME.yaml atomically; never replaces an existing spec.
Overlays are given top-most first; an ALIAS stages the overlay's server.cfg
as server_ALIAS.cfg. Then reloads systemd so l4d2@NAME.service exists.
Writing to /etc/left4me needs root.

Example:
  left4me create srv1 --port 27015 --overlay competitive=comp --overlay workshop/maps \
      --config 'hostname "My server"' --arg +map --arg c1m1_hotel --autostart`,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "port", Usage: "game port `N`, 1024..65535 (required); the client, SourceTV and Steam ports follow (N+1000, N+2000, N+3000), and none of the set may be another instance's", DefaultText: "none"},
			&cli.StringSliceFlag{Name: "overlay", Usage: "overlay `PATH[=ALIAS]` below overlays/, top-most first (repeatable)"},
			&cli.StringSliceFlag{Name: "config", Usage: "a server.cfg `LINE` (repeatable)", KeepSpace: true},
			&cli.StringSliceFlag{Name: "arg", Usage: "a server command-line `ARG` (repeatable)", KeepSpace: true},
			&cli.BoolFlag{Name: "autostart", Usage: "start the instance at boot (with l4d2.target)"},
		},
		Action: func(c *cli.Context) error {
			name, err := clienv.OneName(c)
			if err != nil {
				return err
			}
			if !c.IsSet("port") {
				// Checked here, not with Required: cli's message would skip the exit code.
				return fmt.Errorf("%w: create needs --port N; e.g. left4me create %s --port 27015", fail.ErrUsage, name)
			}
			n := specedit.New{Port: c.Int("port"), Autostart: c.Bool("autostart"),
				Config: c.StringSlice("config"), Arguments: c.StringSlice("arg")}
			for _, o := range c.StringSlice("overlay") {
				ov, err := specedit.ParseOverlay(o)
				if err != nil {
					return err
				}
				n.Overlays = append(n.Overlays, ov)
			}
			return e.create(c.Context, name, n)
		},
	}
}

func (e *Env) create(ctx context.Context, name string, n specedit.New) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	dir, err := e.SpecDir()
	if err != nil {
		return err
	}
	release, err := e.LockSpecs(ctx)
	if err != nil {
		return err
	}
	defer release()
	path := e.Layout.SpecPath(name)
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: instance %s has a spec already (%s); change it there, or `left4me delete %s` first", fail.ErrExists, name, path, name)
	}
	all, err := spec.LoadAllIn(e.Layout)
	if err != nil {
		return fail.NeedsRoot(err, "reading "+dir)
	}
	data, err := specedit.Render(name, n)
	if err != nil {
		return err
	}
	// Every port of the new set (game, client, SourceTV, Steam) against
	// every port of the others and of the running servers (one whose spec
	// was removed too), as the generator will check it.
	if s, err := spec.Parse(path, data); err == nil {
		if err := spec.PortClash(all, spec.ReadClaims(e.Layout.Root), name, path, s); err != nil {
			return notCreated(name, err)
		}
	}
	if err := specedit.WriteNew(path, data); err != nil {
		return fail.NeedsRoot(err, "writing "+path)
	}
	fmt.Fprintf(e.Stdout, "created %s: %s\n", name, path)
	if p, s, err := e.Preview(e.PreviewConfig(false), name); err != nil {
		e.Note("%s cannot start yet: %v\n(`left4me render %s` checks again)", name, err, name)
	} else {
		for _, w := range append(previewWarnings(path, s, p), e.hostWarnings(path, s)...) {
			e.Note("warning: %v", w)
		}
		// Written 0640 above; said should the file still be wider.
		if w := clienv.SpecModeWarning(path, s); w != nil {
			e.Note("warning: %s: %v", path, w)
		}
	}
	if err := e.Reload(ctx, nil, "the spec was written"); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "start it with: left4me start %s\n", name)
	return nil
}

// notCreated is a port clash of a spec create would write, said of the
// --port flag: its FILE:LINE:COL would name a line of a file that was
// never written. It is an invalid spec (exit 1), as validate's and a
// start's are, not a mistake in how left4me was called.
func notCreated(name string, err error) error {
	var msgs []string
	for _, one := range unjoin(err) {
		var se *spec.Error
		if errors.As(one, &se) {
			msgs = append(msgs, se.Msg)
		} else {
			msgs = append(msgs, one.Error())
		}
	}
	return fail.Coded(layout.ErrInvalidSpec, fmt.Errorf("%s (not created): --port: %s (nothing was written)",
		name, strings.Join(msgs, "; and ")))
}
