package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

const appHelp = `left4me runs Left 4 Dead 2 servers as systemd units (l4d2@NAME.service),
one per spec in $LEFT4ME_CONFIG_DIR/instances/NAME.yaml (default
/etc/left4me), with their state below $LEFT4ME_ROOT (default /var/lib/left4me).

Examples:
  left4me create srv1 --port 27015 --overlay competitive=comp --autostart
  left4me validate
  left4me start srv1
  left4me list

Exit codes: 0 ok, 1 failure (invalid spec, failed job, ...), 2 usage,
3 not running (status, is-active, as systemctl), 4 unknown instance,
5 systemd not reachable, 6 permission denied (run as root),
7 spec directory missing.

Shell completion: source <(left4me completion bash)   (or zsh, fish)`

// App builds the command tree on e.
func App(e *Env) *cli.App {
	app := &cli.App{
		Name:                      "left4me",
		Usage:                     "manage the Left 4 Dead 2 servers of this host",
		Description:               appHelp,
		Writer:                    e.Stdout,
		ErrWriter:                 e.Stderr,
		EnableBashCompletion:      true,
		Version:                   e.Version,
		Suggest:                   true,
		DisableSliceFlagSeparator: true, // a --config line may hold commas
		// Errors go back to main, which picks the exit code; cli must not exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   usageError,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("%w: unknown command %q; see left4me --help", fail.ErrUsage, c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: []*cli.Command{
			validateCmd(e), renderCmd(e), listCmd(e), statusCmd(e), isActiveCmd(e), playersCmd(e), sendCmd(e), consoleCmd(e),
			unitCmd(e, "start"), withAll(e, unitCmd(e, "stop")), withAll(e, unitCmd(e, "restart")),
			createCmd(e), autostartCmd(e, true), autostartCmd(e, false),
			resetCmd(e), deleteCmd(e), logsCmd(e), completionCmd(e), manCmd(),
			backupCmd(e), backupsCmd(e), restoreCmd(e), alertCmd(e), metricsCmd(e),
			overlayCmd(e),
			gameCmd(e),
			retryCmd(e),
			webCmd(e),
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	return app
}

// Run runs the command line args (args[0] is the program).
func Run(ctx context.Context, e *Env, args []string) error {
	app := App(e)
	return app.RunContext(ctx, Intersperse(app, args))
}

func usageError(c *cli.Context, err error, _ bool) error {
	// The command's whole path (left4me game gc), from its contexts.
	var path []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name && (len(path) == 0 || path[0] != l.Command.Name) {
			path = append([]string{l.Command.Name}, path...)
		}
	}
	cmd := strings.Join(append([]string{"left4me"}, path...), " ")
	return fmt.Errorf("%w: %v; see %s --help", fail.ErrUsage, err, cmd)
}

// Intersperse moves the flags of each (sub)command in front of its
// arguments: urfave/cli v2 stops reading flags at the first argument, and
// operators write `left4me create srv1 --port 27015` or
// `left4me overlay build mods --no-restart`. A flag stays with the command
// it was written after (`left4me game --help update`); the subcommand
// names themselves are found by walking down the command tree.
func Intersperse(app *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == "--generate-bash-completion" {
		return args // completion looks at the last argument; leave it there
	}
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		i++ // the app's own flags (--help)
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	type level struct {
		name  string
		flags []string
	}
	levels := []level{{name: args[i]}}
	var pos []string
	dashdash := false
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		cur := &levels[len(levels)-1]
		switch {
		case a == "--":
			dashdash = true
			pos = append(pos, args[j+1:]...)
			j = len(args)
		case len(a) > 1 && strings.HasPrefix(a, "-"):
			cur.flags = append(cur.flags, a)
			if takesValue(cmd, a) && j+1 < len(args) {
				j++
				cur.flags = append(cur.flags, args[j])
			}
		default:
			if sub := cmd.Command(a); sub != nil && len(pos) == 0 {
				cmd = sub
				levels = append(levels, level{name: a})
				continue
			}
			pos = append(pos, a)
		}
	}
	out := append([]string{}, args[:i]...)
	for _, l := range levels {
		out = append(append(out, l.name), l.flags...)
	}
	if dashdash {
		out = append(out, "--")
	}
	return append(out, pos...)
}

// takesValue reports whether flag a (as written, e.g. "--port") of cmd
// consumes the next argument.
func takesValue(cmd *cli.Command, a string) bool {
	if strings.Contains(a, "=") {
		return false
	}
	name := strings.TrimLeft(a, "-")
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			_, isBool := f.(*cli.BoolFlag)
			return !isBool
		}
	}
	return false
}
