package specs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/specfile"
	"github.com/left4me/left4me/units"
)

func RenderCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "render",
		Usage:     "show exactly what a start would do, without doing it",
		ArgsUsage: "NAME",
		Description: `Renders the spec with the generator's own function (judged with the other
specs, as at daemon-reload), then runs the start helper's own resolution
(prestart.Preview) on the plan it would write, and prints the
server.cfg it would stage (lines it adds itself are marked "# auto"), the
server_ALIAS.cfg files it would copy and from where, the layer stack top
to bottom and the server's command line. Nothing is written or mounted.
With --spec, the spec is FILE's text (- reads it from standard input), as
if it were saved as NAME's spec, which need not exist yet: an edit is
checked before it replaces the running one's.

Example:
  left4me render srv1
  left4me render srv1 --spec ./srv1-new.yaml`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "render the spec text in `FILE` (- for standard input) as NAME's, without saving it"},
		},
		BashComplete: e.CompleteNames,
		Action: clienv.OnName(func(c *cli.Context, name string) error {
			if c.IsSet("spec") && c.String("spec") == "" {
				return fmt.Errorf("%w: --spec needs a file, or - for standard input", fail.ErrUsage)
			}
			return e.render(name, c.String("spec"))
		}),
	}
}

func (e *Env) render(name, file string) error {
	var p *prestart.Preview
	var s *spec.Spec
	var err error
	what := "what a start would do"
	if file != "" {
		var data []byte
		if data, err = e.readSpecText(file); err != nil {
			return err
		}
		if err := layout.ValidateName(name); err != nil {
			return err
		}
		if _, err := e.SpecDir(); err != nil {
			return err
		}
		label := ""
		if file == "-" {
			what += " with the spec given (not saved)"
		} else {
			what += " with " + file + " as its spec (not saved)"
			label = file
		}
		p, s, err = e.PreviewText(e.PreviewConfig(true), name, data, label)
		err = fail.NeedsRoot(err, "judging a spec against the others in "+e.Layout.InstancesDir())
	} else {
		if _, err := e.Instance(name); err != nil {
			return err
		}
		p, s, err = e.Preview(e.PreviewConfig(true), name)
		err = fail.NeedsRoot(err, "reading "+e.Layout.SpecPath(name)+" (specs are root's: they may hold an RCON password)")
	}
	if errors.Is(err, fail.ErrPermission) {
		return err // nothing wrong with the spec
	}
	if err != nil {
		return fmt.Errorf("a start of %s would fail:\n%w", name, err)
	}
	w := e.Stdout
	upper := p.Layers[0]
	fmt.Fprintf(w, "%s: %s (nothing was written or mounted)\n\n", e.Paint(name, table.Bold), what)
	fmt.Fprintf(w, "server.cfg -> %s\n", filepath.Join(upper, prestart.OverlayCfg))
	lines := strings.Split(strings.TrimSuffix(p.ServerCfg, "\n"), "\n")
	if p.ServerCfg == "" {
		lines = nil
		fmt.Fprintln(w, "  (empty: no config lines and no aliased overlays)")
	}
	for i, l := range lines {
		if i < p.AutoExec {
			l += "  " + e.Paint("# auto", table.Dim)
		}
		fmt.Fprintln(w, "  "+l)
	}
	fmt.Fprintln(w, "\noverlay cfgs")
	if len(p.Copies) == 0 {
		fmt.Fprintln(w, "  (none: no overlay has an alias)")
	}
	t := &table.Table{Indent: "  "}
	for _, c := range p.Copies {
		from := c.Source + " -> " + c.Target
		if !c.Present {
			from = "overlay has no server.cfg: nothing is copied (" + c.Source + ")"
		}
		t.Row(table.Plain(prestart.AliasCfgName(c.Alias), from)...)
	}
	if err := t.Write(w, e.Color); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nlayers, top to bottom, mounted on %s\n", p.Merged)
	t = &table.Table{Indent: "  "}
	t.Row(table.Plain("upper", upper)...)
	for i, l := range p.Layers[1 : len(p.Layers)-1] {
		t.Row(table.Plain(fmt.Sprintf("overlays[%d]", i), l)...)
	}
	t.Row(table.Plain("installation", p.Layers[len(p.Layers)-1])...)
	if err := t.Write(w, e.Color); err != nil {
		return err
	}
	tv := "tv off (-nohltv)"
	if s.Ports.TV != 0 {
		tv = fmt.Sprintf("tv %d", s.Ports.TV)
	}
	fmt.Fprintf(w, "\nports (UDP, all on the command line)\n  game %d, client %d, %s, steam %d\n", s.Ports.Game, s.Ports.Client, tv, s.Ports.Steam)
	fmt.Fprintf(w, "\ncommand\n  %s\n", shellJoin(units.Command(e.Layout, name, s)))
	return nil
}

// shellJoin quotes argv for a shell, so the line can be pasted.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-./:=,@%") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// readSpecText reads a spec's text from file, or standard input for "-",
// at most specfile.MaxSize bytes. A file is read as specs are: a regular
// file, never through a link (another user's link in a shared directory
// would otherwise show a secret's lines in the parse errors, a FIFO hang).
func (e *Env) readSpecText(file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(io.LimitReader(e.Stdin, specfile.MaxSize+1))
	} else {
		data, err = specfile.Read(file)
	}
	switch {
	case errors.Is(err, specfile.ErrSymlink), errors.Is(err, specfile.ErrNotRegular), errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: --spec: %v", fail.ErrUsage, err)
	case err != nil:
		return nil, fail.NeedsRoot(fmt.Errorf("--spec %s: %w", file, err), "reading "+file)
	}
	if len(data) > specfile.MaxSize {
		return nil, fmt.Errorf("%w: --spec %s: more than %d bytes; a spec is smaller", fail.ErrUsage, file, specfile.MaxSize)
	}
	return data, nil
}
