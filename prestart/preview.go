package prestart

import (
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

// Preview is what Start would do for an instance, for `left4me render`. It
// is built by the same resolution and reading code as Start, from the same
// plan, so a preview cannot drift from a real start.
type Preview struct {
	Name      string
	ServerCfg string // staged left4dead2/cfg/server.cfg
	AutoExec  int    // leading lines of ServerCfg added for aliases
	Copies    []PlannedCopy
	Layers    []string // top to bottom: upper, overlays in spec order, installation
	Merged    string
	// Warnings are overlays that are usable but probably not what was
	// meant, each about overlays[Index] of the spec.
	Warnings []LayerError
}

// PlannedCopy is one server_ALIAS.cfg and where it comes from.
type PlannedCopy struct {
	Alias   string
	Source  string // the overlay's server.cfg
	Target  string // in the upper layer
	Present bool   // false: the overlay has no server.cfg, nothing is copied
}

// PreviewStart resolves and reads everything Start would with plan s,
// writes nothing and mounts nothing.
func PreviewStart(c Config, name string, s startplan.Plan) (*Preview, error) {
	if err := layout.ValidateName(name); err != nil {
		return nil, err
	}
	l, err := openLayers(c.Layout.Root, s.Overlays)
	if err != nil {
		return nil, err
	}
	defer l.close()
	copies, err := l.readCfgs(s.Overlays, c.UID, c.GID)
	if err != nil {
		return nil, err
	}
	rt := c.Layout.RuntimeDir(name)
	p := &Preview{Name: name, Merged: c.Layout.MergedDir(name)}
	p.ServerCfg, p.AutoExec = ServerCfg(s)
	cfgDir := filepath.Join(rt, layout.Upper, filepath.Dir(OverlayCfg))
	for _, cp := range copies {
		src := ""
		for _, o := range s.Overlays {
			if o.Alias == cp.alias {
				src = filepath.Join(c.Layout.Overlay(o.Path), OverlayCfg)
			}
		}
		p.Copies = append(p.Copies, PlannedCopy{Alias: cp.alias, Source: src,
			Target: filepath.Join(cfgDir, AliasCfgName(cp.alias)), Present: cp.data != nil})
	}
	p.Layers = append(p.Layers, filepath.Join(rt, layout.Upper))
	for _, o := range s.Overlays {
		p.Layers = append(p.Layers, c.Layout.Overlay(o.Path))
	}
	p.Layers = append(p.Layers, c.Layout.Installation())
	p.Warnings = l.lint(s.Overlays)
	return p, nil
}

// gameDir is the game's directory in every layer; what an overlay holds
// elsewhere is outside the server's game tree.
const gameDir = "left4dead2"

// lint looks at each overlay for the usual mistakes: a mod pack's root
// copied as it is (cfg/, addons/ at the top, no left4dead2/), an alias
// whose overlay has no server.cfg to stage, and a server.cfg of an overlay
// without alias, which the instance's own staged server.cfg always hides.
func (l *layers) lint(overlays []startplan.Overlay) []LayerError {
	var out []LayerError
	warn := func(i int, format string, args ...any) {
		out = append(out, LayerError{Index: i, Err: fmt.Errorf(format, args...)})
	}
	for i, o := range overlays {
		fd := l.ovfd[i]
		has := func(rel string) bool {
			var st unix.Stat_t
			return unix.Fstatat(fd, rel, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
		}
		if !has(gameDir) {
			var top []string
			for _, d := range []string{"cfg", "addons", "maps", "materials", "models", "sound", "scripts"} {
				if has(d) {
					top = append(top, d+"/")
				}
			}
			if len(top) > 0 {
				warn(i, "%s has %s at its top and no %s/: the server sees nothing of it (move them below %s/; a mod pack's root copied as it is?)",
					o.Path, strings.Join(top, ", "), gameDir, gameDir)
			}
		}
		switch {
		case o.Alias != "" && !has(OverlayCfg):
			warn(i, "alias %s, but %s has no %s: `exec %s` is staged and the server reports it missing (drop the alias, or add the cfg)",
				o.Alias, o.Path, OverlayCfg, strings.TrimSuffix(AliasCfgName(o.Alias), ".cfg"))
		case o.Alias == "" && has(OverlayCfg):
			warn(i, "%s has a %s that is never read: the instance's own server.cfg (staged in its upper layer) hides it; give the overlay an alias to have it exec'd",
				o.Path, OverlayCfg)
		}
	}
	return out
}
