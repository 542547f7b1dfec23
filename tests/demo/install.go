package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/left4me/left4me/tests/container"
)

// instance is one of the demo's servers.
type instance struct {
	name string
	port int
	spec string // /etc/left4me/instances/NAME.yaml
}

// instances share the installation and the maps overlay; each has a
// different top overlay, which wins where they overlap (layer.txt).
var instances = []instance{
	{"alpha", 27015, `port: 27015
arguments: ["+map", "c2m1_highway"]
config: ['hostname "alpha: competitive + maps"']
overlays:
  - {path: competitive, alias: comp}
  - maps
`},
	{"bravo", 27016, `port: 27016
arguments: ["+map", "c1m1_hotel"]
config: ['hostname "bravo: casual + maps"']
overlays: [casual, maps]
`},
}

// stateFiles are the installation (with the stand-in server, copied
// separately) and the overlays, below /var/lib/left4me.
var stateFiles = map[string]string{
	"installation/left4dead2/layer.txt":              "installation",
	"overlays/competitive/left4dead2/layer.txt":      "competitive",
	"overlays/competitive/left4dead2/cfg/server.cfg": "sv_tags \"competitive\"\n",
	"overlays/casual/left4dead2/layer.txt":           "casual",
	"overlays/maps/left4dead2/layer.txt":             "maps",
	"overlays/maps/left4dead2/addons/demo-maps.vpk":  "a custom map pack\n",
}

// install builds left4me and installs it into the container root the way
// `make install` does on a host, then writes the game, overlays and specs.
func install(ctx context.Context, p *printer, c *container.Container) error {
	// The binaries go to the tmpfs, not build/: a concurrent build (make
	// test) could be rewriting build/ while install copies from it.
	build := filepath.Join(c.Base(), "build")
	p.step("building and installing left4me: make standin install DESTDIR=%s PREFIX=/usr", c.Root)
	if err := runHost(ctx, "make", "--no-print-directory", "BUILD="+build, "standin", "install", "DESTDIR="+c.Root, "PREFIX=/usr"); err != nil {
		return err
	}
	// What a package's postinst does; at boot systemd-sysusers only runs
	// after an update of /usr.
	if err := runHost(ctx, "systemd-sysusers", "--root="+c.Root, filepath.Join(c.Root, "usr/lib/sysusers.d/left4me.conf")); err != nil {
		return err
	}

	p.step("one shared installation (the stand-in server) and three overlays in %s", container.StateMount)
	// The stand-in as the game ships: the script srcds_run, the engine
	// srcds_linux and, for Valve's libraries it needs, a dummy
	// bin/libtier0_srv.so.
	files := map[string]string{"installation/bin/libtier0_srv.so": "stand-in for Valve's libtier0_srv.so\n"}
	for _, name := range []string{"srcds_run", "srcds_linux"} {
		bin, err := os.ReadFile(filepath.Join(build, name))
		if err != nil {
			return fmt.Errorf("stand-in server: %w", err)
		}
		files["installation/"+name] = string(bin)
	}
	for k, v := range stateFiles {
		files[k] = v
	}
	if err := writeFiles(c.State, files); err != nil {
		return err
	}
	for _, d := range []string{"installation", "overlays/competitive", "overlays/casual", "overlays/maps"} {
		p.say("    %s/%s", container.StateMount, d)
	}

	specs := map[string]string{}
	for _, in := range instances {
		specs[in.name+".yaml"] = in.spec
	}
	if err := writeFiles(filepath.Join(c.Root, "etc/left4me/instances"), specs); err != nil {
		return err
	}
	for _, in := range instances {
		p.say("    /etc/left4me/instances/%s.yaml:", in.name)
		p.block("    " + strings.ReplaceAll(strings.TrimSpace(in.spec), "\n", "\n    "))
	}
	return nil
}

// runHost runs a command on the host; its output is shown only when it
// fails. Its own process group keeps a terminal's Ctrl-C for us to handle.
func runHost(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}

// writeFiles creates files below dir; srcds_run and srcds_linux are made
// executable.
func writeFiles(dir string, files map[string]string) error {
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if b := filepath.Base(rel); b == "srcds_run" || b == "srcds_linux" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			return err
		}
	}
	return nil
}
