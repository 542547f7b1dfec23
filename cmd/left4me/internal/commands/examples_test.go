package commands

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// documented is every left4me command line the operator is shown: the
// examples in the help of every command and subcommand, and the command
// lines of the README's code blocks.
func documented(t *testing.T) []string {
	t.Helper()
	var lines []string
	examples := func(text string) {
		in := false
		var cont string
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "Example") {
				in = true
				continue
			}
			l = strings.TrimSpace(l)
			if cont != "" {
				l, cont = cont+" "+l, ""
			}
			if !in || !strings.HasPrefix(l, "left4me ") && !strings.HasPrefix(l, "source <(left4me ") {
				continue
			}
			if strings.HasSuffix(l, "\\") {
				cont = strings.TrimSuffix(l, "\\")
				continue
			}
			lines = append(lines, l)
		}
	}
	var walk func([]*cli.Command)
	walk = func(cs []*cli.Command) {
		for _, c := range cs {
			examples(c.Description)
			walk(c.Subcommands)
		}
	}
	app := App(&Env{})
	examples(app.Description)
	walk(app.Commands)
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	fence := false
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
			continue
		}
		// "sudo left4me ...": the command is the same (the tests run as root).
		if c := strings.TrimPrefix(strings.TrimSpace(l), "sudo "); (fence || strings.HasPrefix(l, "    ")) && strings.HasPrefix(c, "left4me ") {
			lines = append(lines, c)
		}
	}
	return lines
}

// argv turns a documented line into arguments: the shell parts around the
// command (a pipe, a redirection, a comment, process substitution) go.
func argv(line string) []string {
	line = strings.TrimPrefix(line, "source <(")
	for _, cut := range []string{" #", " |", " <", " >", ")"} {
		if i := strings.Index(line, cut); i >= 0 {
			line = line[:i]
		}
	}
	return shellWords(line)[1:]
}

// shellWords splits as sh does for the quoting the docs use: blanks
// separate words, '...' and "..." quote.
func shellWords(s string) []string {
	var out []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, w.String())
	}
	return out
}

// elsewhere are the commands that need what a unit test does not have (a
// real steamcmd, systemd-run, a real left4me-update.service): they must
// still parse, and fail only for that reason.
var elsewhere = map[string][]string{
	"game install": {"steamcmd"}, "game update": {"steamcmd", "start left4me-update.service: job failed"}, "overlay build": {"systemd-run", "left4me-build"},
}

// Every documented command line runs: against a temporary root with the
// instances and overlays the examples name and a fake systemd, each
// completes, except those that need a real steamcmd or systemd-run, which
// must get as far as needing it. None may be a usage error.
func TestDocumentedCommandsRun(t *testing.T) {
	lines := documented(t)
	if len(lines) < 30 {
		t.Fatalf("found only %d documented command lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, line := range lines {
		t.Run(line, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			te.Stdin, te.Terminal = strings.NewReader("y\n"), true // an operator answers
			te.Players = func(_ context.Context, _ string) (int, int, error) { return 0, 0, nil }
			for _, ov := range []string{"competitive", "workshop/maps"} {
				te.overlay(t, ov, "sv_x 1\n")
			}
			mkdirs(t, filepath.Join(te.Layout.ConfigDir, "overlays"))
			writeFile(t, filepath.Join(te.Layout.ConfigDir, "overlays", "competitive.yaml"), "builder: competitive.sh\n")
			writeFile(t, filepath.Join(te.Layout.ConfigDir, "overlays", "competitive.sh"), "true\n")
			te.ConsoleDir = fakeConsole(t, "srv1")
			te.relayIsUs("srv1")
			writeFile(t, filepath.Join(te.Layout.ConfigDir, "alerts.yaml"), "command: /bin/true\n")
			mkdirs(t, filepath.Join(te.Layout.ConfigDir, "web"))
			writeFile(t, filepath.Join(te.Layout.ConfigDir, "web", "users"), "alice admin\n") // left4me web login alice
			te.sd.set("left4me-web.socket", "active", "listening")
			args := argv(line)
			if len(args) == 4 && args[0] == "overlay" && args[1] == "import" {
				// The directory copied in.
				args[3] = t.TempDir()
				writeFile(t, filepath.Join(args[3], "server.cfg"), "sv_x 1\n")
			}
			for i := range args[:len(args)-1] {
				if args[i] == "--specs" { // a staged copy of instances/
					args[i+1] = te.Layout.InstancesDir()
				}
				if args[i] == "--spec" { // an edited spec, not saved
					args[i+1] = filepath.Join(t.TempDir(), "edited.yaml")
					writeFile(t, args[i+1], "port: 27015\noverlays: [competitive]\n")
				}
			}
			if args[0] != "create" {
				te.spec(t, "srv1", "port: 27015\noverlays: [{path: competitive, alias: comp}]\n")
				te.spec(t, "srv2", "port: 27016\n")
				te.sd.set(clienv.UnitOf("srv1"), "active", "running")
				te.sd.set(clienv.UnitOf("srv2"), "active", "running")
				// srv1 has written something and has a backup (restore).
				mkdirs(t, filepath.Join(te.Layout.RuntimeDir("srv1"), "upper", "left4dead2"))
				writeFile(t, filepath.Join(te.Layout.RuntimeDir("srv1"), "upper", "left4dead2", "banned_user.cfg"), "banid 0 STEAM_1:0:1\n")
				if _, err := backup.Create(te.Layout.RuntimeDir("srv1"), dayops.BackupDir(te.Layout, "srv1"), te.Now().Add(-time.Hour), backup.Options{}); err != nil {
					t.Fatal(err)
				}
			}
			// --service goes as far as the unit, which fails here (no
			// steamcmd).
			te.sd.failStart["left4me-update.service"] = "failed"
			// --host goes as far as ssh, here one that reaches no host.
			te.SSH = filepath.Join(t.TempDir(), "ssh")
			writeFile(t, te.SSH, "#!/bin/sh\necho \"ssh: connect to host port 22: Network is unreachable\" >&2\nexit 255\n")
			os.Chmod(te.SSH, 0o755)
			err := te.run(args...)
			if fail.Code(err) == fail.CodeUsage {
				t.Fatalf("a usage error: %v", err)
			}
			if slices.Contains(args, "--host") {
				if !errors.Is(err, fail.ErrHosts) || strings.Count(te.out.String(), "unreachable  ") < strings.Count(line, "--host") {
					t.Errorf("expected every host to need ssh (unreachable), got %v\n%s", err, te.out)
				}
				return
			}
			cmd := strings.Join(args[:min(2, len(args))], " ")
			if need, ok := elsewhere[cmd]; ok {
				if err == nil || !slices.ContainsFunc(need, func(n string) bool { return strings.Contains(err.Error(), n) }) {
					t.Errorf("expected to need %s, got %v", strings.Join(need, " or "), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, te.out, te.err)
			}
		})
	}
}

// fakeConsole serves a console socket for instance name, as left4me-relay
// does, answering each command with a line; it returns the directory.
func fakeConsole(t *testing.T, name string) string {
	return serveConsole(t, name, func(line string) string { return "server: " + line + "\n" })
}
