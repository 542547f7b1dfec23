// Package generator turns instance specs into systemd units, following
// systemd.generator(7): it only writes units, drop-ins and symlinks into the
// output directory it is given, and uses no D-Bus and nothing below /var.
package generator

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/units"
)

// Result says what one run generated, for logs and tests.
type Result struct {
	Instances []string // names with a drop-in
	Autostart []string // names wanted by l4d2.target
	Skipped   []Skipped
}

// Skipped is a spec that produced no unit, with every problem found in it
// (each naming file, line and field).
type Skipped struct {
	Name string // empty when the spec directory itself could not be read
	Err  error
}

// Run writes the template, the target, per-instance drop-ins and wants links
// into dir (the generator's "normal" directory). A bad spec is skipped and
// reported in Result.Skipped; only a failure to write output is an error,
// since then the units systemd sees would be incomplete.
func Run(c units.Config, dir string) (Result, error) {
	var res Result
	w := writer{dir: dir}
	w.file(units.Template, units.RenderTemplate(c))
	w.file(units.Target, units.RenderTarget())
	w.link(filepath.Join("multi-user.target.wants", units.Target), "../"+units.Target)
	err := spec.Walk(c.Layout.InstancesDir(), func(in spec.Instance) {
		if in.Err != nil {
			res.Skipped = append(res.Skipped, Skipped{Name: in.Name, Err: in.Err})
			return
		}
		unit := units.Instance(in.Name)
		w.file(filepath.Join(unit+".d", units.DropIn), units.RenderDropIn(c, in.Name, in.Spec))
		res.Instances = append(res.Instances, in.Name)
		if in.Spec.Autostart {
			w.link(filepath.Join(units.Target+".wants", unit), "../"+units.Template)
			res.Autostart = append(res.Autostart, in.Name)
		}
	})
	if err != nil {
		// The template and target are written anyway, so units stay loadable.
		res.Skipped = append(res.Skipped, Skipped{Err: err})
	}
	return res, errors.Join(w.errs...)
}

// writer collects write errors so one failure does not hide the others.
type writer struct {
	dir  string
	errs []error
	made map[string]bool
}

func (w *writer) mkdir(rel string) {
	if w.made == nil {
		w.made = map[string]bool{}
	}
	if rel == "." || w.made[rel] {
		return
	}
	if err := os.MkdirAll(filepath.Join(w.dir, rel), 0o755); err != nil {
		w.errs = append(w.errs, fmt.Errorf("create %s: %w", rel, err))
	}
	w.made[rel] = true
}

func (w *writer) file(rel string, data []byte) {
	w.mkdir(filepath.Dir(rel))
	if err := os.WriteFile(filepath.Join(w.dir, rel), data, 0o644); err != nil {
		w.errs = append(w.errs, fmt.Errorf("write %s: %w", rel, err))
	}
}

func (w *writer) link(rel, target string) {
	w.mkdir(filepath.Dir(rel))
	p := filepath.Join(w.dir, rel)
	if err := os.Symlink(target, p); err != nil && !errors.Is(err, os.ErrExist) {
		w.errs = append(w.errs, fmt.Errorf("link %s: %w", rel, err))
	}
}
