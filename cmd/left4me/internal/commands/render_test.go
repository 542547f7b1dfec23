package commands

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestRender(t *testing.T) {
	te := newEnv(t)
	te.overlay(t, "competitive", "sv_cheats 0\n")
	te.overlay(t, "workshop/maps", "")
	te.overlay(t, "admins", "")
	te.spec(t, "srv1", `port: 27015
arguments: ["+map", "c1m1_hotel", "-hostname", "it's"]
config: ['hostname "x"', "exec server_adm"]
overlays:
  - {path: competitive, alias: comp}
  - {path: workshop/maps, alias: maps}
  - {path: admins, alias: adm}
`)
	if err := te.run("render", "srv1"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	r, v := te.Layout.Root+"/runtime/srv1", te.Layout.Root
	want := `srv1: what a start would do (nothing was written or mounted)

server.cfg -> ` + r + `/upper/left4dead2/cfg/server.cfg
  exec server_maps  # auto
  exec server_comp  # auto
  hostname "x"
  exec server_adm

overlay cfgs
  server_comp.cfg  ` + v + `/overlays/competitive/left4dead2/cfg/server.cfg -> ` + r + `/upper/left4dead2/cfg/server_comp.cfg
  server_maps.cfg  overlay has no server.cfg: nothing is copied (` + v + `/overlays/workshop/maps/left4dead2/cfg/server.cfg)
  server_adm.cfg   overlay has no server.cfg: nothing is copied (` + v + `/overlays/admins/left4dead2/cfg/server.cfg)

layers, top to bottom, mounted on ` + r + `/merged
  upper         ` + r + `/upper
  overlays[0]   ` + v + `/overlays/competitive
  overlays[1]   ` + v + `/overlays/workshop/maps
  overlays[2]   ` + v + `/overlays/admins
  installation  ` + v + `/installation

ports (UDP, all on the command line)
  game 27015, client 28015, tv 29015, steam 30015

command
  ` + r + `/merged/srcds_linux -game left4dead2 -strictportbind -port 27015 +clientport 28015 +tv_port 29015 -steamport 30014 +map c1m1_hotel -hostname 'it'\''s'
`
	if got := te.out.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if te.err.Len() != 0 {
		t.Errorf("stderr: %s", te.err)
	}
}

func TestRenderFallsBackToNobody(t *testing.T) {
	te := newEnv(t)
	te.ServerUser = func() (int, int, error) { return 0, 0, errors.New(`user "left4me": unknown user`) }
	te.spec(t, "a", "port: 27001\n")
	if err := te.run("render", "a"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.err.String(), "previewing as uid/gid 65534") {
		t.Fatalf("stderr: %s", te.err)
	}
	if !strings.Contains(te.out.String(), "(empty: no config lines and no aliased overlays)") {
		t.Fatalf("stdout: %s", te.out)
	}
}

func TestRenderErrors(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\noverlays: [missing]\n")
	te.spec(t, "bad", "port: x\n")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"render", "a"}, fail.CodeFailure, "a start of a would fail:\noverlays[0] "},
		{[]string{"render", "bad"}, fail.CodeFailure, "bad.yaml:1:7: port"},
		{[]string{"render", "nope"}, fail.CodeUnknownInstance, `unknown instance "nope": there is no `},
		{[]string{"render"}, fail.CodeUsage, "render takes one instance name"},
		{[]string{"render", "a/b"}, fail.CodeUsage, "invalid instance name"},
	}
	for _, c := range cases {
		err := te.run(c.args...)
		if fail.Code(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: code %d, %v; want %d, %q", c.args, fail.Code(err), err, c.code, c.want)
		}
	}
}

// render and status judge a spec as validate and the generator do: a port
// an older spec claimed is a problem in all of them.
func TestRenderAndStatusJudgeLikeValidate(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27015\n")
	te.spec(t, "b", "port: 27015\n")
	want := `b.yaml:1:7: port: 27015 is already used by instance "a"`
	if err := te.run("render", "b"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("render b: %v", err)
	}
	_ = te.run("status", "b", "--json")
	if !strings.Contains(te.out.String(), `is already used by instance \"a\"`) {
		t.Errorf("status b --json:\n%s", te.out)
	}
}

// render --spec renders unsaved text as NAME's spec (new or not), judged
// with the others as a save would leave it; nothing is written.
func TestRenderSpecText(t *testing.T) {
	te := newEnv(t)
	te.overlay(t, "competitive", "sv_cheats 0\n")
	te.spec(t, "a", "port: 27015\n")
	te.spec(t, "b", "port: 27115\n")
	tmp := t.TempDir()
	edited := filepath.Join(tmp, "b-new.yaml")
	badFile := filepath.Join(tmp, "b-bad.yaml")
	writeFile(t, badFile, "port: 27215\nbogus: 1\n")
	link := filepath.Join(tmp, "link.yaml")
	if err := os.Symlink(badFile, link); err != nil {
		t.Fatal(err)
	}
	writeFile(t, edited, "port: 27215\noverlays: [{path: competitive, alias: comp}]\n")
	if err := te.run("render", "b", "--spec", edited); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	out := te.out.String()
	for _, want := range []string{"b: what a start would do with " + edited + " as its spec (not saved)", "  exec server_comp  # auto", "game 27215,"} {
		if !strings.Contains(out, want) {
			t.Errorf("render b --spec: no %q in:\n%s", want, out)
		}
	}
	if got := readFile(t, te.Layout.SpecPath("b")); got != "port: 27115\n" {
		t.Errorf("b's spec changed: %q", got)
	}
	cases := []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{[]string{"render", "new", "--spec", "-"}, "port: 27315\n", 0, "game 27315,"},
		{[]string{"render", "b", "--spec", "-"}, "port: 27015\n", fail.CodeFailure, `b.yaml:1:7: port: 27015 is already used by instance "a"`},
		{[]string{"render", "b", "--spec", "-"}, "port: 27215\nbogus: 1\n", fail.CodeFailure, "b.yaml:2:1"},
		{[]string{"render", "b", "--spec", "/nonexistent.yaml"}, "", fail.CodeUsage, "--spec: open /nonexistent.yaml"},
		{[]string{"render", "b", "--spec", badFile}, "", fail.CodeFailure, badFile + ":2:1: bogus"}, // the file's own line
		{[]string{"render", "b", "--spec", link}, "", fail.CodeUsage, "is a symbolic link"},         // never followed
		{[]string{"render", "b", "--spec", ""}, "", fail.CodeUsage, "--spec needs a file"},
		{[]string{"render", "b", "--spec", "-"}, strings.Repeat("#", 1<<20+1), fail.CodeUsage, "more than 1048576 bytes"},
		{[]string{"render", "../b", "--spec", "-"}, "port: 27215\n", fail.CodeUsage, "invalid instance name"},
	}
	for _, c := range cases {
		te.out.Reset()
		te.Stdin = strings.NewReader(c.stdin)
		err := te.run(c.args...)
		if fail.Code(err) != c.code {
			t.Errorf("%v: code %d (%v), want %d; out %s", c.args, fail.Code(err), err, c.code, te.out.String())
			continue
		}
		if got := te.out.String(); err != nil {
			got = err.Error()
			if !strings.Contains(got, c.want) {
				t.Errorf("%v: %q, want %q", c.args, got, c.want)
			}
		} else if !strings.Contains(got, c.want) {
			t.Errorf("%v: no %q in:\n%s", c.args, c.want, got)
		}
	}
	if _, err := os.Lstat(te.Layout.SpecPath("new")); !os.IsNotExist(err) {
		t.Errorf("render new --spec wrote a spec: %v", err)
	}
}
