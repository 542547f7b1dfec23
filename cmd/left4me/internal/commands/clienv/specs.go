package clienv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/journal"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
	"github.com/left4me/left4me/units"
)

const (
	ConnectTimeout = 10 * time.Second
	// JobTimeout outlasts the unit's TimeoutStartSec (90s) plus the helpers.
	JobTimeout = 3 * time.Minute
	// specLockWait is how long a command waits for another that edits
	// the specs (an edit takes milliseconds, its reload about a second).
	specLockWait = 30 * time.Second
)

// SpecDir returns the instances directory, or why it cannot be used.
func (e *Env) SpecDir() (string, error) {
	dir := e.Layout.InstancesDir()
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w: %s does not exist; install left4me (make install creates it) or set LEFT4ME_CONFIG_DIR to the directory that holds instances/", fail.ErrNoSpecDir, dir)
	case err != nil:
		return "", fail.NeedsRoot(fmt.Errorf("spec directory: %w", err), "reading "+dir)
	case !st.IsDir():
		return "", fmt.Errorf("%w: %s is not a directory", fail.ErrNoSpecDir, dir)
	}
	return dir, nil
}

// LockSpecs serialises the commands that read the specs and then write
// one: create checks that no other spec has its port before writing its
// own, and two creates of one port must not both pass that check. The
// lock is a flock on the instances directory (no file of its own, so a
// read-only /etc/left4me still locks); a command that finds it held says
// who holds it and waits a while.
func (e *Env) LockSpecs(ctx context.Context) (release func(), err error) {
	dir, err := e.SpecDir()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, specLockWait)
	defer cancel()
	release, err = layout.WaitLock(ctx, dir, func(h *layout.HeldError) {
		e.Note("waiting for another left4me command: %v", h)
	})
	if err != nil {
		return nil, fail.NeedsRoot(fmt.Errorf("lock the specs: %w", err), "locking "+dir)
	}
	// Every writer of specs holds this lock, so a temporary file found now
	// is what a killed one left (readers skip it; it would only pile up).
	tmps, _ := filepath.Glob(filepath.Join(dir, fsat.TempPrefix+"*.yaml.tmp*"))
	for _, p := range tmps {
		if err := os.Remove(p); err == nil {
			e.Note("removed %s, left by an interrupted left4me command", p)
		}
	}
	return release, nil
}

// LockSpecFile takes the specs lock (LockSpecs) to rewrite name's spec in
// place and returns its path. The spec must still exist under the lock (a
// delete may have gone first) and be a regular file: the generator never
// follows a link, so a linked spec is refused; hint says what to do once it
// is a regular file ("edit it").
func (e *Env) LockSpecFile(ctx context.Context, name, hint string) (path string, release func(), err error) {
	release, err = e.LockSpecs(ctx)
	if err != nil {
		return "", nil, err
	}
	path = e.Layout.SpecPath(name)
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = fmt.Errorf("%w %q: %s is gone (deleted meanwhile?)", fail.ErrUnknownInstance, name, path)
	case err != nil:
		err = fail.NeedsRoot(fmt.Errorf("spec of %s: %w", name, err), "reading "+path)
	case st.Mode()&fs.ModeSymlink != 0:
		err = fmt.Errorf("%s is a symbolic link, which the generator never follows; replace it with a regular file, then %s", path, hint)
	case !st.Mode().IsRegular():
		err = fmt.Errorf("%s is not a regular file; specs must be", path)
	}
	if err != nil {
		release()
		return "", nil, err
	}
	return path, release, nil
}

// Instance checks name and that its spec file exists (valid or not) and
// returns the file's path.
func (e *Env) Instance(name string) (string, error) {
	if err := layout.ValidateName(name); err != nil {
		return "", err
	}
	if _, err := e.SpecDir(); err != nil {
		return "", err
	}
	path := e.Layout.SpecPath(name)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w %q: there is no %s; `left4me list` shows the instances, `left4me create %s --port N` makes this one", fail.ErrUnknownInstance, name, path, name)
	} else if err != nil {
		return "", fail.NeedsRoot(fmt.Errorf("spec of %s: %w", name, err), "reading "+path)
	}
	return path, nil
}

// Load returns an instance's spec, refusing an invalid one with every
// problem listed.
func (e *Env) Load(name string) (*spec.Spec, error) {
	path, err := e.Instance(name)
	if err != nil {
		return nil, err
	}
	s, err := spec.Judge(e.Layout, name)
	if le := (spec.LimitsError{}); s != nil && errors.As(err, &le) {
		// As the generator: the default ceilings apply meanwhile.
		e.Note("%v", err)
		return s, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		// Specs are root's (0640): they may hold an RCON password.
		return nil, fail.NeedsRoot(err, "reading "+path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be used:\n%v\nfix the file, then check it with `left4me validate %s`", layout.ErrInvalidSpec, path, fail.NeedsRoot(err, "reading "+path), name)
	}
	return s, nil
}

// Names are the instance names from the spec files, for completion.
func (e *Env) Names() []string {
	ents, _ := os.ReadDir(e.Layout.InstancesDir())
	var out []string
	for _, d := range ents {
		if n, ok := strings.CutSuffix(d.Name(), ".yaml"); ok && layout.ValidateName(n) == nil {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, layout.CompareNames)
	return out
}

// CompleteNames is a BashComplete that offers instance names.
func (e *Env) CompleteNames(c *cli.Context) {
	for _, n := range e.Names() {
		fmt.Fprintln(c.App.Writer, n)
	}
}

// Reload has systemd rerun the generator after a spec change. Without
// systemd there is nothing to reload: the generator reads the specs at the
// next boot, which is said rather than treated as an error. done says
// what already happened, for the error message.
func (e *Env) Reload(ctx context.Context, sd Systemd, done string) error {
	if sd == nil {
		var err error
		sd, err = e.Connect(ctx)
		if errors.Is(err, fail.ErrNoSystemd) {
			e.Note("systemd is not reachable, so it was not reloaded; it reads the specs at the next boot (or `systemctl daemon-reload`)")
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s, but %w", done, err)
		}
		defer sd.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, JobTimeout)
	defer cancel()
	if err := sd.Reload(ctx); err != nil {
		return fmt.Errorf("%s, but systemd was not reloaded: %w", done, err)
	}
	fmt.Fprintln(e.Stdout, "systemd reloaded")
	return nil
}

// Note prints a remark for the operator on stderr, apart from the output.
func (e *Env) Note(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "note: "+format+"\n", args...)
}

// Paint colours s when colour is on.
func (e *Env) Paint(s, code string) string {
	if !e.Color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func UnitOf(name string) string { return units.Instance(name) }

// OnName is the Action of a command on one instance: it checks that the
// one argument is there and runs act with it.
func OnName(act func(c *cli.Context, name string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		name, err := OneName(c)
		if err != nil {
			return err
		}
		return act(c, name)
	}
}

// OneName returns the single instance argument of a command.
func OneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("%w: %s takes one instance name, got %d arguments; e.g. left4me %s srv1", fail.ErrUsage, c.Command.Name, c.NArg(), c.Command.Name)
	}
	return c.Args().First(), nil
}

// Systemd is what the commands need of systemd. *control.Conn implements
// it; tests use a fake.
type Systemd interface {
	Units(ctx context.Context, names []string) ([]control.Unit, error)
	Unit(ctx context.Context, name string) (control.Unit, error)
	Loaded(ctx context.Context, pattern string) ([]control.Unit, error)
	Start(ctx context.Context, unit string) error
	Stop(ctx context.Context, unit string) error
	Restart(ctx context.Context, unit string) error
	Enqueue(ctx context.Context, unit string) error
	Reload(ctx context.Context) error
	ResetFailed(ctx context.Context, unit string) error
	Close()
}

func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func UsageError(c *cli.Context, err error, _ bool) error {
	// The command's whole path (left4me game gc), from its contexts.
	var path []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name && (len(path) == 0 || path[0] != l.Command.Name) {
			path = append([]string{l.Command.Name}, path...)
		}
	}
	cmd := strings.Join(append([]string{"left4me"}, path...), " ")
	if name, val, ok := badDuration(c, err); ok {
		return fmt.Errorf("%w: --%s %q: %s; see %s --help", fail.ErrUsage, name, val, WantDuration, cmd)
	}
	return fmt.Errorf("%w: %v; see %s --help", fail.ErrUsage, err, cmd)
}

// WantDuration says what a duration is, to one who typed it wrong
// (time.ParseDuration's units that make sense here).
const WantDuration = "want a duration such as 2h or 90m (units: h, m, s)"

// badDuration recognizes the flag package's own refusal of a duration
// flag's value (`invalid value "2d" for flag -deadline: parse error`),
// which names neither the flag as typed nor what is wanted.
func badDuration(c *cli.Context, err error) (name, val string, ok bool) {
	rest, found := strings.CutPrefix(err.Error(), "invalid value ")
	if !found {
		return "", "", false
	}
	quoted, rest, found := strings.Cut(rest, " for flag -")
	if !found {
		return "", "", false
	}
	name, found = strings.CutSuffix(rest, ": parse error")
	if !found || c.Command == nil {
		return "", "", false
	}
	if val, err = strconv.Unquote(quoted); err != nil {
		return "", "", false
	}
	for _, f := range c.Command.Flags {
		if _, isDuration := f.(*cli.DurationFlag); isDuration && slices.Contains(f.Names(), name) {
			return name, val, true
		}
	}
	return "", "", false
}

func Count(n *int) string {
	if n == nil {
		return "-"
	}
	return strconv.Itoa(*n)
}

func StateColor(s string) string {
	switch s {
	case "active":
		return table.Green
	case "failed":
		return table.Red
	case "activating", "deactivating", "reloading":
		return table.Yellow
	case "unknown":
		return table.Dim
	}
	return ""
}

// TailLines is how much of the journal status and failures show.
const TailLines = 10

// Tail is the unit's last journal lines, indented; a failure to read them
// is shown in their place (it must not hide the state above).
func (e *Env) Tail(ctx context.Context, unit string, lines int) string {
	var out, errb bytes.Buffer
	args := append(journal.Args(unit, lines, false), "--no-pager", "--quiet")
	if err := e.Journal(ctx, args, &out, &errb); err != nil {
		return fmt.Sprintf("  (no journal: %v %s)\n", err, strings.TrimSpace(errb.String()))
	}
	if out.Len() == 0 {
		return "  (none)\n"
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		b.WriteString("  " + termsafe.Line(l) + "\n") // the server's own text
	}
	return b.String()
}

// UnitState asks systemd once for the state of instance name's unit.
func (e *Env) UnitState(ctx context.Context, name string) (control.Unit, error) {
	sd, err := e.Connect(ctx)
	if err != nil {
		return control.Unit{}, err
	}
	defer sd.Close()
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	return sd.Unit(ctx, UnitOf(name))
}

// PlanStale reports whether spec s of instance name differs from the one
// the generator last made its start plan from in planDir, or has no plan
// yet: the start helper would refuse it until systemd is reloaded. With
// planDir "" (where the generator writes is unknown) or the plan
// unreadable (not root), it cannot tell and says no.
func PlanStale(planDir, name string, s *spec.Spec) bool {
	stale, _ := PlanStaleKnown(planDir, name, s)
	return stale
}

// PlanStaleKnown is PlanStale that also says whether it could tell.
// Where it can, it is the answer: systemd's NeedDaemonReload turns true
// at every start too (the start helper's runtime limits are drop-ins of
// their own in /run/systemd/system.control) and would report every
// started instance as changed.
func PlanStaleKnown(planDir, name string, s *spec.Spec) (stale, known bool) {
	if planDir == "" || s == nil {
		return false, false
	}
	p, err := startplan.Read(startplan.Path(planDir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return true, true
	}
	if err != nil {
		return false, false
	}
	return !bytes.Equal(p.Spec, s.StartPlan().Spec), true
}

// unitStopping is the MESSAGE_ID systemd logs as a stop or restart job of
// a unit begins ("Stopping UNIT...", SD_MESSAGE_UNIT_STOPPING in
// sd-messages.h; src/core/job.c).
const unitStopping = "de5b426a63be47a7b6ac3eaac82e2f6f"

// EndedByStop reports whether u (failed) failed in a stop that was asked
// for in its last run, by a person or a program (systemctl stop, left4me
// stop, a restart, the disk timer), whatever the way it failed (its stop
// timed out; its server exited with an error or was killed for its
// memory on the way down): it was meant to be down until someone acts.
// The start limit (a crash loop) is not such an end.
func (e *Env) EndedByStop(ctx context.Context, u control.Unit) bool {
	if u.Result == "success" || u.Result == "start-limit-hit" {
		return false
	}
	return e.StopAsked(ctx, u.Name, u.Invocation)
}

// RefusedOverDisk reports whether u's last run was a start its helper
// refused for the instance's disk ceiling: its main process never ran,
// and the start helper said so in that run. That refusal lasts until
// someone frees space, so retrying it only repeats it (and its alert);
// other refusals may pass (a mount not ready, a full disk) and are
// retried. Only our helpers ran in that run (as root), so their
// identifier can be believed; the run is journald's own field.
func (e *Env) RefusedOverDisk(ctx context.Context, u control.Unit) bool {
	if u.MainRan || u.Result == "start-limit-hit" || u.Invocation == "" || strings.Trim(u.Invocation, "0") == "" {
		return false
	}
	var out, errb bytes.Buffer
	_ = e.Journal(ctx, []string{"--sync"}, &out, &errb)
	out.Reset()
	args := []string{"--output", "cat", "--no-pager", "--quiet", "--lines", "1", "--priority", "err",
		"--grep", prestart.ErrDiskFull.Error(), "_SYSTEMD_INVOCATION_ID=" + u.Invocation, "SYSLOG_IDENTIFIER=left4me-prestart"}
	return e.Journal(ctx, args, &out, &errb) == nil && strings.TrimSpace(out.String()) != ""
}

// StopAsked reports whether the run invocation of unit ended in a stop
// somebody asked for (systemctl stop, left4me stop, a restart, the disk
// timer). A stop that failed (a server that did not quit within
// TimeoutStopSec) leaves the unit failed, and OnFailure= cannot tell it
// from a crash loop. The stop helper records such a run (asking PID 1
// for the unit's job; runtime/NAME/stopped, root's); failing that,
// systemd's journal entry for the start of the stop job counts. Only
// PID 1's own entries count there (_PID= is journald's, trusted): a
// server may write any other field to the journal socket.
func (e *Env) StopAsked(ctx context.Context, unit, invocation string) bool {
	if invocation == "" || strings.Trim(invocation, "0") == "" {
		return false
	}
	if name, ok := strings.CutSuffix(strings.TrimPrefix(unit, "l4d2@"), ".service"); ok && UnitOf(name) == unit && layout.ValidateName(name) == nil &&
		rundir.Of(e.Layout, name).ReadStopped() == invocation {
		return true
	}
	var out, errb bytes.Buffer
	// What journald received before now is written first: a server
	// flooding its output must not hide PID 1's entry by delaying it.
	_ = e.Journal(ctx, []string{"--sync"}, &out, &errb)
	out.Reset()
	args := []string{"--output", "cat", "--no-pager", "--quiet", "--lines", "1",
		"_PID=1", "MESSAGE_ID=" + unitStopping, "UNIT=" + unit, "INVOCATION_ID=" + invocation}
	return e.Journal(ctx, args, &out, &errb) == nil && strings.TrimSpace(out.String()) != ""
}

// AtOverlay places a problem with one overlay of s (say, its directory is
// missing: a prestart.LayerError) on the spec line that names that
// overlay, FILE:LINE:COL: overlays[I]: ...; any other error is returned
// as it is.
func AtOverlay(file string, s *spec.Spec, err error) error {
	var le *prestart.LayerError
	if s == nil || !errors.As(err, &le) || le.Index >= len(s.Overlays) {
		return err
	}
	line, col := s.OverlayPosition(le.Index)
	return &spec.Error{File: file, Line: line, Column: col, Field: fmt.Sprintf("overlays[%d]", le.Index), Msg: le.Err.Error()}
}
