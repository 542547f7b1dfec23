package unitctl

import (
	"errors"
	"fmt"

	"github.com/left4me/left4me/generator"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/startplan"
	"github.com/left4me/left4me/units"
)

// PreviewConfig is the helpers' config for a dry run. Without the server
// user (not installed yet) it previews as nobody, and says so when asked.
func (e *Env) PreviewConfig(say bool) prestart.Config {
	uid, gid, err := e.ServerUser()
	if err != nil {
		uid, gid = Nobody, Nobody
		if say {
			e.Note("%v; previewing as uid/gid %d instead, so whether the server may read an overlay's server.cfg is checked for that user", err, Nobody)
		}
	}
	return prestart.Config{Layout: e.Layout, UID: uid, GID: gid}
}

// Preview judges the spec of name and runs the start helper's resolution
// on the plan the generator would write for it: the generator's own
// rendering (generator.DryRun), read back as the start helper reads it.
func (e *Env) Preview(c prestart.Config, name string) (*prestart.Preview, *spec.Spec, error) {
	s, f, err := generator.DryRun(units.Config{Layout: c.Layout}, name)
	return preview(c, name, s, f, err)
}

// PreviewText is Preview of spec text not yet saved as name's spec, judged
// as it would be once saved (generator.DryRunText; label names the text in
// messages, "" for name's spec file).
func (e *Env) PreviewText(c prestart.Config, name string, data []byte, label string) (*prestart.Preview, *spec.Spec, error) {
	s, f, err := generator.DryRunText(units.Config{Layout: c.Layout}, name, data, label)
	return preview(c, name, s, f, err)
}

func preview(c prestart.Config, name string, s *spec.Spec, f generator.Files, err error) (*prestart.Preview, *spec.Spec, error) {
	// An unusable limits.yaml: the generator goes on with the default
	// ceilings, and so does a start (Load says so).
	if le := (spec.LimitsError{}); err != nil && (s == nil || !errors.As(err, &le)) {
		return nil, nil, err
	}
	plan, err := startplan.Decode(f.Plan)
	if err != nil {
		return nil, nil, fmt.Errorf("the generator's plan for %s: %w", name, err)
	}
	p, err := prestart.PreviewStart(c, name, plan)
	return p, s, err
}

// Nobody is the uid/gid previews use when the server user does not exist.
const Nobody = 65534
