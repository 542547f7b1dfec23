package commands

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
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
// examples in the help of every command and subcommand, the command lines
// of the README's code blocks, and those in `...` in the help's and the
// README's running text.
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
	app := App(&Env{})
	var walk func([]*cli.Command)
	walk = func(cs []*cli.Command) {
		for _, c := range cs {
			examples(c.Description)
			lines = append(lines, inline(app, c.Description)...)
			walk(c.Subcommands)
		}
	}
	examples(app.Description)
	lines = append(lines, inline(app, app.Description)...)
	walk(app.Commands)
	readme, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	fence := false
	var prose []string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
			continue
		}
		// "sudo left4me ...": the command is the same (the tests run as root).
		if c := strings.TrimPrefix(strings.TrimSpace(l), "sudo "); (fence || strings.HasPrefix(l, "    ")) && strings.HasPrefix(c, "left4me ") {
			lines = append(lines, c)
		}
		if !fence && !strings.HasPrefix(l, "    ") {
			prose = append(prose, l)
		}
	}
	// A paragraph at a time: a span may go on over a line break.
	for _, para := range strings.Split(strings.Join(prose, "\n"), "\n\n") {
		lines = append(lines, inline(app, para)...)
	}
	return lines
}

// notTyped are commands the text names that are run by units, not by an
// operator.
var notTyped = map[string]bool{"left4me web serve": true}

// inline is the command lines in running text's `...` spans: a span that
// names a command needing arguments (`left4me send`) is a name, not a line;
// one with arguments, or of a command that needs none, is a line. Its
// placeholders become what the test's host has: NAME an instance (an
// overlay for overlay, a user for web), COMMAND a console command; ID
// (srv1's backup) is put in when the backup is made.
func inline(app *cli.App, text string) []string {
	var lines []string
	parts := strings.Split(text, "`")
	for i := 1; i < len(parts); i += 2 {
		span := strings.Join(strings.Fields(strings.TrimPrefix(parts[i], "sudo ")), " ")
		if !strings.HasPrefix(span, "left4me ") || notTyped[span] {
			continue
		}
		words := strings.Fields(span)[1:]
		c, n := app.Command(words[0]), 1
		for c != nil && n < len(words) && c.Command(words[n]) != nil {
			c, n = c.Command(words[n]), n+1
		}
		if c == nil {
			if strings.HasPrefix(words[0], "-") { // `left4me --help`
				lines = append(lines, span)
			}
			continue
		}
		if n == len(words) && needsArgs(c, "left4me "+strings.Join(words, " ")) || takesValue(c, words[len(words)-1]) {
			continue // `left4me create`, `left4me list --host`: a name
		}
		name := map[string]string{"overlay": "competitive", "web": "alice"}[words[0]]
		if name == "" {
			name = "srv1"
		}
		for j, w := range words[n:] {
			switch strings.TrimRight(w, ".…") {
			case "NAME", "USER":
				words[n+j] = name
			case "COMMAND", "": // `left4me send srv1 ...`
				words[n+j] = "status"
			}
		}
		lines = append(lines, "left4me "+strings.Join(words, " "))
	}
	return lines
}

// needsArgs is whether c (the command line path), given no arguments,
// is a usage error or help.
func needsArgs(c *cli.Command, path string) bool {
	usage := c.ArgsUsage
	if usage == "" { // create says it in UsageText
		usage = strings.TrimSpace(strings.TrimPrefix(c.UsageText, path))
	}
	return len(c.Subcommands) > 0 || usage != "" && !strings.HasPrefix(usage, "[")
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
	ran := map[string]bool{}
	for _, line := range lines {
		// The same line again (its comment aside) is run once.
		key, _, _ := strings.Cut(line, " #")
		if key = strings.Join(strings.Fields(key), " "); ran[key] {
			continue
		}
		ran[key] = true
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
				b, err := backup.Create(te.Layout.RuntimeDir("srv1"), dayops.BackupDir(te.Layout, "srv1"), te.Now().Add(-time.Hour), backup.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if args[0] == "restore" && len(args) > 2 && args[2] == "ID" { // left4me restore srv1 ID
					args[2] = b.ID
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
			shellPart(t, line, te.out.Bytes())
		})
	}
}

// shellPart runs the shell around a documented command on what it printed,
// where that is a local tool: the docs promise that too.
func shellPart(t *testing.T, line string, out []byte) {
	t.Helper()
	var cmd *exec.Cmd
	switch {
	case strings.HasPrefix(line, "source <("): // source <(left4me completion bash)
		script := filepath.Join(t.TempDir(), "completion")
		writeFile(t, script, string(out))
		cmd = exec.Command("bash", "-c", `source "$1" && complete -p left4me`, "bash", script)
	case strings.Contains(line, " | jq "): // left4me validate --json | jq FILTER
		words := shellWords(line[strings.Index(line, " | jq ")+3:])
		cmd = exec.Command(words[0], words[1:]...)
		cmd.Stdin = bytes.NewReader(out)
	default:
		return
	}
	if _, err := exec.LookPath(cmd.Args[0]); err != nil {
		t.Logf("%s not installed: what the shell does with the output is not checked", cmd.Args[0])
		return
	}
	if got, err := cmd.CombinedOutput(); err != nil || cmd.Args[0] == "bash" && !strings.Contains(string(got), "left4me") {
		t.Errorf("%s on the command's output: %v\n%s", cmd.Args[0], err, got)
	}
}

// fakeConsole serves a console socket for instance name, as left4me-relay
// does, answering each command with a line; it returns the directory.
func fakeConsole(t *testing.T, name string) string {
	return serveConsole(t, name, func(line string) string { return "server: " + line + "\n" })
}
