package specs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

// Problem is one thing wrong with one spec, as --json prints it.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	text    string // FILE:LINE:COL: FIELD: MSG
}

// Checked is one file checked: a spec, or alerts.yaml (Kind "alerts",
// Name "alerts.yaml", which no instance can be named).
type Checked struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind,omitempty"` // "alerts" for alerts.yaml; empty for a spec
	File     string    `json:"file"`
	Valid    bool      `json:"valid"`
	Problems []Problem `json:"problems"`
	Warnings []Problem `json:"warnings"`
}

func ValidateCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check specs: syntax, fields, ports across specs, overlays and installation",
		ArgsUsage: "[NAME...]",
		Description: `Checks every spec (or the named ones) with the generator's parser, the
ports of all specs together, and, like a start would, that each overlay is
a directory below overlays/ and that the game is installed. Prints each
problem as FILE:LINE:COL: FIELD: MESSAGE; exits 0 only when all are valid.
Without NAMEs it checks /etc/left4me/alerts.yaml too, when there is one,
as sending an alert reads it (a problem there stops every alert): in
--json, an entry with "kind": "alerts".
Warnings do not change the exit code: among them, a spec that sets a
password and is readable by other users (fix: chmod 640 FILE), and one
that others than root can change (fix: chown root:root FILE; chmod go-w
FILE).

--specs DIR checks the specs in DIR instead of instances/, against this
host's limits.yaml, overlays and installation: a deployment stages a copy
of instances/ with its new specs there and replaces nothing unless they
pass (the Ansible role in packaging/ansible does).

Examples:
  left4me validate
  left4me validate srv1 srv2
  left4me validate --json | jq '.[] | select(.valid | not)'
  left4me validate --specs /var/tmp/staged/instances`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
			&cli.StringFlag{Name: "specs", Usage: "check the specs in `DIR` (a staged copy of instances/) instead of the host's"},
		},
		BashComplete: e.CompleteNames,
		Action:       func(c *cli.Context) error { return e.validate(c.Args().Slice(), c.Bool("json"), c.String("specs")) },
	}
}

func (e *Env) validate(names []string, asJSON bool, staged string) error {
	if staged != "" {
		return e.validateStaged(staged, names, asJSON)
	}
	dir, err := e.SpecDir()
	if err != nil {
		return err
	}
	all, err := spec.LoadAllIn(e.Layout)
	if err != nil {
		return fail.NeedsRoot(err, "reading "+dir)
	}
	var alerts *Checked
	if len(names) > 0 {
		if all, err = e.pick(all, names); err != nil {
			return err
		}
	} else {
		alerts = e.checkAlerts(asJSON)
	}
	return e.check(dir, all, alerts, asJSON)
}

// checkAlerts loads alerts.yaml as sending an alert does (owner, mode,
// syntax, keys): a typo there passed validate while every alert failed.
// nil when there is none, or it is root's and we are not (said: unread
// is not invalid).
func (e *Env) checkAlerts(asJSON bool) *Checked {
	path := filepath.Join(e.Layout.ConfigDir, alert.File)
	cfg, err := alert.Load(e.Layout.ConfigDir)
	switch {
	case cfg == nil && err == nil:
		return nil
	case errors.Is(err, fs.ErrPermission):
		e.warn(asJSON, fmt.Sprintf("%s: not checked: it is root's (it may hold a webhook's secret); run validate with sudo", path))
		return nil
	}
	r := &Checked{Name: alert.File, Kind: "alerts", File: path, Problems: []Problem{}, Warnings: []Problem{}}
	for _, one := range unjoin(err) {
		r.Problems = append(r.Problems, toProblem(path, one))
	}
	if cfg != nil && cfg.Exposed != "" {
		r.Warnings = append(r.Warnings, Problem{File: path, Message: cfg.Exposed, text: cfg.Exposed})
	}
	r.Valid = len(r.Problems) == 0
	return r
}

// warn says a warning kept out of --json's array: on stdout with the
// other warnings, on stderr beside JSON.
func (e *Env) warn(asJSON bool, w string) {
	if asJSON {
		e.Note("warning: %s", w)
	} else {
		fmt.Fprintf(e.Stdout, "%s: %s\n", e.Paint("warning", "33"), w)
	}
}

// ignoredFiles are the files of dir that look like specs but are not read
// as any: NAME.yml, NAME.YAML. Only NAME.yaml is a spec (the generator's
// rule); the operator who saved srv4.yml believes srv4 exists.
func ignoredFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // the specs' own reading says why
	}
	var out []string
	for _, d := range entries {
		n := d.Name()
		lower := strings.ToLower(n)
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".yaml") ||
			!strings.HasSuffix(lower, ".yaml") && !strings.HasSuffix(lower, ".yml") {
			continue
		}
		out = append(out, filepath.Join(dir, n))
	}
	return out
}

// validateStaged checks the specs in dir (not the host's instances/)
// against the host's ceilings, overlays and installation.
func (e *Env) validateStaged(dir string, names []string, asJSON bool) error {
	if st, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%w: --specs: %w", fail.ErrUsage, err)
	} else if !st.IsDir() {
		return fmt.Errorf("%w: --specs %s is not a directory", fail.ErrUsage, dir)
	}
	all, err := spec.LoadAllAt(dir, e.Layout)
	if err != nil {
		return fail.NeedsRoot(err, "reading "+dir)
	}
	if len(names) > 0 {
		var picked []spec.Instance
		for _, n := range names {
			i := slices.IndexFunc(all, func(in spec.Instance) bool { return in.Name == n })
			if i < 0 {
				return fmt.Errorf("%w %q: there is no %s.yaml in %s", fail.ErrUnknownInstance, n, n, dir)
			}
			picked = append(picked, all[i])
		}
		all = picked
	}
	return e.check(dir, all, nil, asJSON)
}

// check validates the loaded specs all, read from dir, and prints the
// result with alerts.yaml's (alerts, when checked).
func (e *Env) check(dir string, all []spec.Instance, alerts *Checked, asJSON bool) error {
	// Unreadable is not invalid: specs are root's (0640, they may hold an
	// RCON password), and one not read cannot be judged.
	for _, in := range all {
		if errors.Is(in.Err, fs.ErrPermission) {
			return fail.NeedsRoot(in.Err, "validate (specs are root's: they may hold an RCON password)")
		}
	}
	// Said first and kept out of --json's array (one entry per file
	// checked).
	for _, f := range ignoredFiles(dir) {
		stem := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		e.warn(asJSON, fmt.Sprintf("%s: ignored: only NAME.yaml files are specs; rename it to %s.yaml if it is one", f, stem))
	}
	cfg := e.PreviewConfig(!asJSON)
	results := make([]Checked, 0, len(all))
	bad, noGame := 0, 0
	for _, in := range all {
		r := Checked{Name: in.Name, File: in.File, Problems: []Problem{}, Warnings: []Problem{}}
		err := in.Err
		// Judged further also when a port or a ceiling refused it: every
		// problem in one round.
		if s := in.Parsed; s != nil {
			for _, w := range s.Warnings {
				r.Warnings = append(r.Warnings, toProblem(in.File, w))
			}
			// Same resolution as a start: overlays and installation.
			p, perr := prestart.PreviewStart(cfg, in.Name, s.StartPlan())
			perr = clienv.AtOverlay(in.File, s, perr)
			if in.Err != nil && errors.Is(perr, prestart.ErrNoGame) {
				perr = nil // said once the spec itself is right
			}
			err = spec.JoinByLine(err, perr)
			for _, w := range append(previewWarnings(in.File, s, p), e.hostWarnings(in.File, s)...) {
				r.Warnings = append(r.Warnings, toProblem(in.File, w))
			}
			if w := clienv.SpecModeWarning(in.File, s); w != nil {
				r.Warnings = append(r.Warnings, toProblem(in.File, w))
			}
		}
		for _, one := range unjoin(err) {
			r.Problems = append(r.Problems, toProblem(in.File, one))
		}
		r.Valid = len(r.Problems) == 0
		if !r.Valid {
			bad++
			if len(r.Problems) == 1 && errors.Is(err, prestart.ErrNoGame) {
				noGame++ // nothing wrong with the spec itself
			}
		}
		results = append(results, r)
	}
	nSpecs := len(results)
	if alerts != nil {
		results = append(results, *alerts)
	}
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return fmt.Errorf("write JSON: %w", err)
		}
	} else {
		for _, r := range results {
			for _, p := range r.Problems {
				fmt.Fprintln(e.Stdout, p.text)
			}
			for _, w := range r.Warnings {
				fmt.Fprintf(e.Stdout, "%s: %s\n", e.Paint("warning", "33"), w.text)
			}
		}
		e.summary(dir, nSpecs, bad, alerts)
	}
	var invalid []string
	if bad > noGame {
		invalid = append(invalid, fmt.Sprintf("%d of %d spec(s) have problems", bad-noGame, nSpecs))
	}
	if alerts != nil && !alerts.Valid {
		invalid = append(invalid, alert.File+" has problems: no alert is sent until they are fixed")
	}
	switch {
	case len(invalid) > 0:
		return fmt.Errorf("%w: %s", layout.ErrInvalidSpec, strings.Join(invalid, "; "))
	case noGame > 0:
		return fmt.Errorf("%w: %d spec(s) are fine but cannot start without it; run `left4me game install`", fail.ErrNoGame, noGame)
	}
	return nil
}

// summary is the last line of validate's text: "ok" when all checked
// are valid.
func (e *Env) summary(dir string, nSpecs, bad int, alerts *Checked) {
	also := ""
	if alerts != nil {
		if !alerts.Valid {
			return // its problems said it; no "ok" beside them
		}
		also = " and " + alert.File
	}
	switch {
	case nSpecs == 0:
		fmt.Fprintf(e.Stdout, "no specs in %s\n", dir)
		if also != "" {
			fmt.Fprintf(e.Stdout, "%s: %s valid\n", e.Paint("ok", "32"), alert.File)
		}
	case bad == 0:
		fmt.Fprintf(e.Stdout, "%s: %d spec(s) valid%s\n", e.Paint("ok", "32"), nSpecs, also)
	}
}

// pick keeps the named instances, in the order given.
func (e *Env) pick(all []spec.Instance, names []string) ([]spec.Instance, error) {
	var out []spec.Instance
	for _, n := range names {
		path, err := e.Instance(n)
		if err != nil {
			return nil, err
		}
		for _, in := range all {
			if in.Name == n {
				out = append(out, in)
			}
		}
		if len(out) == 0 || out[len(out)-1].Name != n {
			// A file LoadAll skipped; ReadFile says why.
			_, rerr := spec.ReadFile(path)
			out = append(out, spec.Instance{Name: n, File: path, Err: rerr})
		}
	}
	return out, nil
}

// previewWarnings are the preview's overlay warnings, each placed on the
// spec line that names the overlay.
func previewWarnings(file string, s *spec.Spec, p *prestart.Preview) []error {
	if p == nil {
		return nil
	}
	out := make([]error, 0, len(p.Warnings))
	for i := range p.Warnings {
		out = append(out, clienv.AtOverlay(file, s, &p.Warnings[i]))
	}
	return out
}

// hostWarnings are what this host makes of the spec: its ports inside the
// ephemeral range that are not reserved. Nothing when the host's sysctls
// cannot be read: a warning is not worth a failure.
func (e *Env) hostWarnings(file string, s *spec.Spec) []error {
	if e.Proc == "" {
		return nil
	}
	r, err := probe.EphemeralPorts(e.Proc)
	if err != nil {
		return nil
	}
	reserved, err := probe.ReservedPorts(e.Proc)
	if err != nil {
		return nil
	}
	return s.EphemeralWarnings(file, int(r.Lo), int(r.Hi), reserved)
}

func toProblem(file string, err error) Problem {
	var se *spec.Error
	if errors.As(err, &se) {
		return Problem{File: se.File, Line: se.Line, Column: se.Column, Field: se.Field, Message: se.Msg, text: se.Error()}
	}
	return Problem{File: file, Message: err.Error(), text: file + ": " + err.Error()}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
