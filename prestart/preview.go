package prestart

import (
	"path/filepath"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/units"
)

// Plan is what Start would do for an instance, for `left4me render`. It is
// built by the same resolution and reading code as Start, so a preview
// cannot drift from a real start.
type Plan struct {
	Name      string
	Spec      *spec.Spec
	ServerCfg string // staged left4dead2/cfg/server.cfg
	AutoExec  int    // leading lines of ServerCfg added for aliases
	Copies    []PlannedCopy
	Layers    []string // top to bottom: upper, overlays in spec order, installation
	Merged    string
	Command   []string // the server's argv as the generated unit runs it
}

// PlannedCopy is one server_ALIAS.cfg and where it comes from.
type PlannedCopy struct {
	Alias   string
	Source  string // the overlay's server.cfg
	Target  string // in the upper layer
	Present bool   // false: the overlay has no server.cfg, nothing is copied
}

// Preview resolves and reads everything Start would, writes nothing and
// mounts nothing.
func Preview(c Config, name string) (*Plan, error) {
	s, err := spec.LoadInstance(c.Layout, name)
	if err != nil {
		return nil, err
	}
	l, err := openLayers(c.Layout.Root, s)
	if err != nil {
		return nil, err
	}
	defer l.close()
	copies, err := l.readCfgs(s, c.UID, c.GID)
	if err != nil {
		return nil, err
	}
	rt := c.Layout.RuntimeDir(name)
	p := &Plan{Name: name, Spec: s, Merged: c.Layout.MergedDir(name)}
	p.ServerCfg, p.AutoExec = ServerCfg(s)
	cfgDir := filepath.Join(rt, "upper", filepath.Dir(OverlayCfg))
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
	p.Layers = append(p.Layers, filepath.Join(rt, "upper"))
	for _, o := range s.Overlays {
		p.Layers = append(p.Layers, filepath.Join(c.Layout.Root, "overlays", o.Path))
	}
	p.Layers = append(p.Layers, filepath.Join(c.Layout.Root, "installation"))
	p.Command = units.Command(c.Layout, name, s)
	return p, nil
}
