package main

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/tests/container"
)

// show starts the instances, shows them from every side and stops them.
func show(ctx context.Context, p *printer, c *container.Container) error {
	units := make([]string, len(instances))
	for i, in := range instances {
		units[i] = "l4d2@" + in.name + ".service"
	}
	p.step("systemctl start %s", strings.Join(units, " "))
	if _, err := c.Run(ctx, append([]string{"systemctl", "start"}, units...)...); err != nil {
		return err
	}
	infos := make([]a2s.Info, len(instances))
	for i, in := range instances {
		info, err := query(ctx, c, in.port)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", in.name, err, journal(ctx, c, units[i], 30))
		}
		infos[i] = info
	}

	p.step("systemctl status %s", strings.Join(units, " "))
	// status exits non-zero when a unit is not active; the output says why.
	out, _ := c.Run(ctx, append([]string{"systemctl", "status", "--no-pager", "--lines=0"}, units...)...)
	p.block(out)

	p.step("A2S_INFO, the query a server browser sends, from the host into the container's network")
	for i, in := range instances {
		f := infos[i]
		p.say("    %s  127.0.0.1:%d  name %q  map %s  players %d/%d  game %q (%s)",
			in.name, in.port, f.Name, f.Map, f.Players, f.MaxPlayers, f.Game, f.Folder)
	}

	p.step("layer stacks, top first (as the start helper resolved them), mounted with overlayfs")
	for _, in := range instances {
		if err := layers(ctx, p, c, in.name); err != nil {
			return err
		}
	}

	p.step("journalctl -u %s (the helpers' steps, then the server's output)", units[0])
	p.block(journal(ctx, c, units[0], 40))

	p.step("systemctl stop %s", strings.Join(units, " "))
	if _, err := c.Run(ctx, append([]string{"systemctl", "stop"}, units...)...); err != nil {
		return err
	}
	return stopped(ctx, p, c)
}

// query asks an instance for A2S_INFO until it answers: the unit is active
// as soon as the server process runs, a moment before it listens.
func query(ctx context.Context, c *container.Container, port int) (a2s.Info, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var info a2s.Info
		var err error
		nerr := c.Netns(func() {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			info, err = a2s.Query(qctx, "127.0.0.1:"+strconv.Itoa(port))
		})
		if nerr != nil {
			return info, nerr
		}
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return info, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// layers prints an instance's stack, computed by the same code as the
// start helper (prestart.Preview) on the host side of the state bind, and
// which layer wins for layer.txt in the mounted view.
func layers(ctx context.Context, p *printer, c *container.Container, name string) error {
	uid, err := userID(ctx, c, "-u")
	if err != nil {
		return err
	}
	gid, err := userID(ctx, c, "-g")
	if err != nil {
		return err
	}
	l := layout.Layout{ConfigDir: filepath.Join(c.Root, "etc/left4me"), Root: c.State}
	s, err := spec.Judge(l, name)
	if err != nil {
		return fmt.Errorf("layers of %s: %w", name, err)
	}
	plan, err := prestart.PreviewStart(prestart.Config{Layout: l, UID: uid, GID: gid}, name, s.StartPlan())
	if err != nil {
		return fmt.Errorf("layers of %s: %w", name, err)
	}
	inContainer := func(host string) string {
		return container.StateMount + strings.TrimPrefix(host, c.State)
	}
	p.say("    %s:", name)
	for i, layer := range plan.Layers {
		role := "overlay"
		switch {
		case i == 0:
			role = "upper: everything this server writes, kept across restarts"
		case i == len(plan.Layers)-1:
			role = "the game, read-only, shared by every instance"
		}
		for _, cp := range plan.Copies {
			if strings.TrimSuffix(cp.Source, "/"+prestart.OverlayCfg) == layer {
				role += fmt.Sprintf(" (alias %s: its cfg/server.cfg runs as server_%s.cfg)", cp.Alias, cp.Alias)
			}
		}
		p.say("      %d. %-42s %s", i+1, inContainer(layer), role)
	}
	merged := container.StateMount + "/runtime/" + name + "/merged"
	top, err := c.Run(ctx, "cat", merged+"/left4dead2/layer.txt")
	if err != nil {
		return err
	}
	p.say("      mounted on %s: left4dead2/layer.txt reads %q", merged, top)
	return nil
}

// userID is the left4me user's uid or gid (flag -u or -g) in the container.
func userID(ctx context.Context, c *container.Container, flag string) (int, error) {
	out, err := c.Run(ctx, "id", flag, "left4me")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// journal returns the last n lines of a unit's journal, for reading.
func journal(ctx context.Context, c *container.Container, unit string, n int) string {
	out, err := c.Run(ctx, "journalctl", "-u", unit, "--no-pager", "--no-hostname", "-o", "short", "-n", strconv.Itoa(n))
	if err != nil {
		return out + err.Error()
	}
	return out
}

// stopped shows that the instances are down, nothing is mounted in the
// container any more and the upper layers kept what the servers wrote.
func stopped(ctx context.Context, p *printer, c *container.Container) error {
	mi, err := c.Run(ctx, "cat", "/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, in := range instances {
		st, _ := c.Run(ctx, "systemctl", "is-active", "l4d2@"+in.name+".service")
		mounted := strings.Count(mi, " "+container.StateMount+"/runtime/"+in.name+"/merged ")
		var kept []string
		upper := filepath.Join(c.State, "runtime", in.name, "upper")
		filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(upper, path)
				kept = append(kept, rel)
			}
			return nil
		})
		p.say("    %s: %s, overlay mounted %d times; its upper layer kept %s", in.name, strings.TrimSpace(st), mounted, strings.Join(kept, ", "))
		if mounted != 0 {
			return fmt.Errorf("%s is still mounted after stop", in.name)
		}
	}
	return nil
}

func splitLines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
