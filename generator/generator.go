// Package generator turns instance specs into systemd units, following
// systemd.generator(7): it only writes units, drop-ins and symlinks into the
// output directory it is given, and uses no D-Bus and nothing below /var.
package generator

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
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
	c.PlanDir = dir
	w, err := newWriter(dir)
	if err != nil {
		return res, err
	}
	defer w.close()
	w.file(units.Template, units.RenderTemplate(c), 0o644)
	// The host's plan: what the disk timer holds a server to whose spec
	// was removed while it runs. Unreadable limits: the defaults, which
	// are the strict side (the specs are refused meanwhile, see Visit).
	limits, _ := spec.LoadLimits(c.Layout.ConfigDir)
	w.mkdir(units.Template + ".d")
	w.file(filepath.Join(units.Template+".d", startplan.FileName), startplan.Encode(spec.HostPlan(limits)), 0o600)
	w.file(units.Target, units.RenderTarget(), 0o644)
	w.mkdir("multi-user.target.wants")
	w.link(filepath.Join("multi-user.target.wants", units.Target), "../"+units.Target)
	w.mkdir(units.Target + ".wants")
	// Each instance's files are written on every CPU (work); the result is
	// gathered in name order (done).
	work := func(in *spec.Instance) {
		unit := units.Instance(in.Name)
		// The start helper reads the plan instead of the spec; mode 0600 as
		// config lines can hold passwords. An invalid spec gets a plan with
		// its errors, so a start says why it is refused.
		plan := filepath.Join(unit+".d", startplan.FileName)
		if in.Err != nil {
			if in.Name != "" && layout.ValidateName(in.Name) == nil {
				w.mkdir(unit + ".d")
				w.file(plan, startplan.Encode(startplan.Plan{Errors: []string{in.Err.Error()}}), 0o600)
			}
			return
		}
		f := Render(c, in.Name, in.Spec)
		w.mkdir(unit + ".d")
		w.file(filepath.Join(unit+".d", units.DropIn), f.DropIn, 0o644)
		w.file(plan, f.Plan, 0o600)
		if f.Autostart {
			w.link(filepath.Join(units.Target+".wants", unit), "../"+units.Template)
		}
		timers := units.Timers(c, in.Name, in.Spec)
		for t, text := range timers {
			w.file(t, text, 0o644)
		}
		if d := units.RenderScheduleDropIn(timers); d != nil {
			w.file(filepath.Join(unit+".d", units.ScheduleDropIn), d, 0o644)
		}
	}
	err = spec.Visit(c.Layout, work, func(in spec.Instance) {
		switch {
		case in.Err != nil:
			res.Skipped = append(res.Skipped, Skipped{Name: in.Name, Err: in.Err})
		case in.Spec.Autostart:
			res.Autostart = append(res.Autostart, in.Name)
			fallthrough
		default:
			res.Instances = append(res.Instances, in.Name)
		}
	})
	if err != nil {
		// The template and target are written anyway, so units stay loadable.
		res.Skipped = append(res.Skipped, Skipped{Err: err})
	}
	return res, errors.Join(w.errs...)
}

// Files is what the generator writes for one valid instance.
type Files struct {
	DropIn    []byte // l4d2@NAME.service.d/50-left4me-spec.conf
	Plan      []byte // the start helper's plan (startplan.Encode)
	Autostart bool   // l4d2.target wants the instance
}

// Render is the generator's rendering of one instance, the one function
// behind Run and `left4me render` (as quadlet's -dryrun runs the real
// conversion): s must have been judged with the other specs (spec.Judge,
// or Run's spec.Visit).
func Render(c units.Config, name string, s *spec.Spec) Files {
	return Files{
		DropIn:    units.RenderDropIn(c, name, s),
		Plan:      startplan.Encode(s.StartPlan()),
		Autostart: s.Autostart,
	}
}

// DryRunText is DryRun for spec text not yet saved as name's spec
// (spec.JudgeText; label names the text in messages).
func DryRunText(c units.Config, name string, data []byte, label string) (*spec.Spec, Files, error) {
	s, err := spec.JudgeText(c.Layout, name, data, label)
	return dryRun(c, name, s, err)
}

// dryRun renders s as Run does: also when limits.yaml is unusable (the
// default ceilings apply, spec.LimitsError), which it returns all the same.
func dryRun(c units.Config, name string, s *spec.Spec, err error) (*spec.Spec, Files, error) {
	if le := (spec.LimitsError{}); err != nil && (s == nil || !errors.As(err, &le)) {
		return nil, Files{}, err
	}
	return s, Render(c, name, s), err
}

// DryRun judges name's spec with all the others, as Run does, and renders
// it without writing anything.
func DryRun(c units.Config, name string) (*spec.Spec, Files, error) {
	s, err := spec.Judge(c.Layout, name)
	return dryRun(c, name, s, err)
}

// writer collects write errors so one failure does not hide the others. It
// works relative to an fd of the output directory with plain *at calls: the
// generator runs at every boot and writes a few files per instance. It is
// safe for concurrent use; each instance has its own directory.
type writer struct {
	dfd  int
	mu   sync.Mutex // guards errs
	errs []error
}

func newWriter(dir string) (*writer, error) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("output directory %s: %w", dir, err)
	}
	return &writer{dfd: dfd}, nil
}

func (w *writer) close() { unix.Close(w.dfd) }

func (w *writer) fail(err error) {
	w.mu.Lock()
	w.errs = append(w.errs, err)
	w.mu.Unlock()
}

// mkdir makes a directory directly below the output directory (all the
// generator writes is at most one level deep).
func (w *writer) mkdir(rel string) {
	if err := unix.Mkdirat(w.dfd, rel, 0o755); err != nil && err != unix.EEXIST {
		w.fail(fmt.Errorf("create %s: %w", rel, err))
	}
}

// file writes rel, whose directory exists.
func (w *writer) file(rel string, data []byte, mode uint32) {
	fd, err := unix.Openat(w.dfd, rel, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NOFOLLOW, mode)
	for err == nil && len(data) > 0 {
		var n int
		if n, err = unix.Write(fd, data); err == unix.EINTR {
			err = nil
		}
		data = data[n:]
	}
	if fd >= 0 {
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
	}
	if err != nil {
		w.fail(fmt.Errorf("write %s: %w", rel, err))
	}
}

// link makes the symlink rel, whose directory exists.
func (w *writer) link(rel, target string) {
	if err := unix.Symlinkat(target, w.dfd, rel); err != nil && err != unix.EEXIST {
		w.fail(fmt.Errorf("link %s: %w", rel, err))
	}
}
