package commands

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/console"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/game"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/overlay"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/servers"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/specs"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
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
7 spec directory missing, 130 interrupted (Ctrl-C, SIGTERM, a lost terminal).

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
		OnUsageError:   clienv.UsageError,
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("%w: unknown command %q; see left4me --help", fail.ErrUsage, c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Commands: commandTree(e),
	}
	onUsageError(app.Commands)
	return app
}

// onUsageError makes every command and subcommand (game update, overlay
// build) say a bad flag as a usage error (exit 2), in one voice.
func onUsageError(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = clienv.UsageError
		onUsageError(c.Subcommands)
	}
}

// commandTree gives each command package the part of e it uses.
func commandTree(e *Env) []*cli.Command {
	con, uc, ops, srv, sp := e.console(), e.unitctl(), e.dayops(), e.servers(), e.specs()
	return []*cli.Command{
		specs.ValidateCmd(sp), specs.RenderCmd(sp), servers.ListCmd(srv), servers.StatusCmd(srv), servers.IsActiveCmd(srv), servers.PlayersCmd(srv), console.SendCmd(con), console.ConsoleCmd(con),
		unitctl.UnitCmd(uc, "start"), unitctl.WithAll(uc, unitctl.UnitCmd(uc, "stop")), unitctl.WithAll(uc, unitctl.UnitCmd(uc, "restart")),
		specs.CreateCmd(sp), unitctl.AutostartCmd(uc, true), unitctl.AutostartCmd(uc, false),
		specs.ResetCmd(sp), specs.DeleteCmd(sp), servers.LogsCmd(srv), completionCmd(e), manCmd(),
		dayops.BackupCmd(ops), dayops.BackupsCmd(ops), dayops.RestoreCmd(ops), dayops.AlertCmd(ops), dayops.MetricsCmd(ops),
		overlay.Command(&overlay.Env{Env: ops}),
		game.Command(&game.Env{Env: ops, HostRoot: e.HostRoot}),
		unitctl.RetryCmd(uc),
		webCmd(e),
	}
}

func (e *Env) console() *console.Env {
	base := e.Env // a copy: no command changes what another sees
	return &console.Env{Env: &base, ConsoleDir: e.ConsoleDir}
}

func (e *Env) unitctl() *unitctl.Env {
	u := &unitctl.Env{
		Env: e.console(), Players: e.Players, EmptyPoll: e.EmptyPoll, UnitPoll: e.UnitPoll,
		ServerArgv: e.ServerArgv, ServerUser: e.ServerUser, RetryDir: e.RetryDir, PlanDir: e.PlanDir, AlertDir: e.AlertDir,
	}
	// Alerts are dayops', which builds on unitctl.
	u.AlertFailure = func(ctx context.Context, err error, kind, name, summary, where string) {
		(&dayops.Env{Env: u, ServerInfo: e.ServerInfo}).AlertFailure(ctx, err, kind, name, summary, where)
	}
	return u
}

func (e *Env) dayops() *dayops.Env { return &dayops.Env{Env: e.unitctl(), ServerInfo: e.ServerInfo} }

func (e *Env) servers() *servers.Env {
	return &servers.Env{Env: e.dayops(), PlayerList: e.PlayerList, PlanDir: e.PlanDir, SSH: e.SSH}
}

func (e *Env) specs() *specs.Env {
	return &specs.Env{Env: e.dayops(), MountInfo: e.MountInfo, Proc: e.Proc}
}

// WebName is the name under which the left4me binary is the web panel
// (/usr/lib/left4me/left4me-web, a link to it, which left4me-web.service
// runs): as left4me web serve.
const WebName = "left4me-web"

// Args is the command line args means: a program named WebName is
// `left4me web serve` with the rest of its arguments.
func Args(args []string) []string {
	if len(args) > 0 && filepath.Base(args[0]) == WebName {
		return append([]string{"left4me", "web", "serve"}, args[1:]...)
	}
	return args
}

// Run runs the command line args (args[0] is the program).
func Run(ctx context.Context, e *Env, args []string) error {
	app := App(e)
	return app.RunContext(ctx, Intersperse(app, args))
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
