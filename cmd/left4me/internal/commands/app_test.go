package commands

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestIntersperse(t *testing.T) {
	app := App(&Env{})
	cases := []struct{ in, want string }{
		{"create srv1 --port 27001 --autostart", "create --port 27001 --autostart srv1"},
		{"create srv1 --arg -tickrate --arg=100 --config x", "create --arg -tickrate --arg=100 --config x srv1"},
		{"create srv1 -- --weird", "create -- srv1 --weird"},
		{"reset srv1 --yes", "reset --yes srv1"},
		{"logs srv1 -n 5 -f", "logs -n 5 -f srv1"},
		{"start a b", "start a b"},
		{"nosuch a --x", "nosuch a --x"},
		{"create srv1 --generate-bash-completion", "create srv1 --generate-bash-completion"},
	}
	for _, c := range cases {
		got := Intersperse(app, append([]string{"left4me"}, strings.Fields(c.in)...))
		if want := append([]string{"left4me"}, strings.Fields(c.want)...); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q", c.in, got)
		}
	}
}

func TestHelpHasExamples(t *testing.T) {
	te := newEnv(t)
	for _, c := range App(te.Env).Commands {
		if err := te.run(c.Name, "--help"); err != nil {
			t.Fatalf("%s --help: %v", c.Name, err)
		}
		if !strings.Contains(te.out.String(), "left4me "+c.Name) || !strings.Contains(te.out.String(), "xample") {
			t.Errorf("%s --help has no example:\n%s", c.Name, te.out)
		}
	}
	te.run("--help")
	if !strings.Contains(te.out.String(), "Exit codes") {
		t.Errorf("app help: %s", te.out)
	}
}

func TestUnknownCommand(t *testing.T) {
	te := newEnv(t)
	if err := te.run("frobnicate"); fail.Code(err) != fail.CodeUsage || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("%v", err)
	}
	if err := te.run("list", "--bogus"); fail.Code(err) != fail.CodeUsage || !strings.Contains(err.Error(), "see left4me list --help") {
		t.Fatalf("%v", err)
	}
}

func TestCompletion(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "alpha", "port: 27001\n")
	te.spec(t, "beta", "port: 27002\n")
	if err := te.run("status", "--generate-bash-completion"); err != nil {
		t.Fatal(err)
	}
	if te.out.String() != "alpha\nbeta\n" {
		t.Errorf("names: %q", te.out)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if err := te.run("completion", sh); err != nil || !strings.Contains(te.out.String(), "left4me") {
			t.Errorf("%s: %v %q", sh, err, te.out)
		}
	}
	if err := te.run("completion", "tcsh"); fail.Code(err) != fail.CodeUsage {
		t.Errorf("tcsh: %v", err)
	}
}

func TestLogs(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	if err := te.run("logs", "a", "-n", "5", "-f"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.journal[0], " "); got != "--unit l4d2@a.service --lines 5 --follow" {
		t.Errorf("args %s", got)
	}
	if te.out.String() != "server said goodbye\n" {
		t.Errorf("stdout %q", te.out)
	}
	err := te.run("logs", "gone")
	if fail.Code(err) != fail.CodeUnknownInstance || !strings.Contains(err.Error(), "journalctl -u l4d2@gone.service") {
		t.Errorf("%v", err)
	}
}

// left4me --version prints the version the Makefile links in (VERSION, by
// default git describe of the tree).
func TestVersion(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	bin := t.TempDir()
	if out, err := exec.Command("make", "-C", "../../../..", "--no-print-directory", filepath.Join(bin, "left4me"), "BUILD="+bin, "VERSION=1.2.3-4-gabcdef").CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(bin, "left4me"), "--version").CombinedOutput()
	if err != nil || string(out) != "left4me version 1.2.3-4-gabcdef\n" {
		t.Fatalf("%v: %q", err, out)
	}
}

// The manual page shows flag values as VALUE (never --deadline=""), and
// has the spec format, files and exit status.
func TestManPage(t *testing.T) {
	te := newEnv(t)
	if err := te.run("man"); err != nil {
		t.Fatal(err)
	}
	page := te.out.String()
	if strings.Contains(page, `=""`) || !strings.Contains(page, `\fB--deadline\fP=\fIVALUE\fP: `) {
		t.Errorf("flag values:\n%s", page)
	}
	for _, s := range []string{".SH SPEC FORMAT", ".SH FILES", ".SH EXIT STATUS", "/etc/left4me/instances/NAME.yaml"} {
		if !strings.Contains(page, s) {
			t.Errorf("man page lacks %q", s)
		}
	}
}

// The binary under the name left4me-web is the panel's server.
func TestArgsAsWeb(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"/usr/lib/left4me/left4me-web", "--url", "https://p.example.org"}, []string{"left4me", "web", "serve", "--url", "https://p.example.org"}},
		{[]string{"left4me-web"}, []string{"left4me", "web", "serve"}},
		{[]string{"/usr/bin/left4me", "list"}, []string{"/usr/bin/left4me", "list"}},
		{[]string{"left4me-webx", "list"}, []string{"left4me-webx", "list"}},
	} {
		if got := Args(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Args(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
