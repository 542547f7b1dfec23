package prestart

import (
	"path/filepath"

	"github.com/left4me/left4me/prestart/rundir"
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
	cfgDir := filepath.Join(rt, rundir.Upper, filepath.Dir(OverlayCfg))
	for _, cp := range copies {
		src := ""
		for _, o := range s.Overlays {
			if o.Alias == cp.alias {
				src = filepath.Join(c.Layout.Root, "overlays", o.Path, OverlayCfg)
			}
		}
		p.Copies = append(p.Copies, PlannedCopy{Alias: cp.alias, Source: src,
			Target: filepath.Join(cfgDir, AliasCfgName(cp.alias)), Present: cp.data != nil})
	}
	p.Layers = append(p.Layers, filepath.Join(rt, rundir.Upper))
	for _, o := range s.Overlays {
		p.Layers = append(p.Layers, filepath.Join(c.Layout.Root, "overlays", o.Path))
	}
	p.Layers = append(p.Layers, filepath.Join(c.Layout.Root, "installation"))
	return p, nil
}
