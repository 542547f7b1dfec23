package commands

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/units"
)

const (
	connectTimeout = 10 * time.Second
	// jobTimeout outlasts the unit's TimeoutStartSec (90s) plus the helpers.
	jobTimeout = 3 * time.Minute
	// specLockWait is how long a command waits for another that edits
	// the specs (an edit takes milliseconds, its reload about a second).
	specLockWait = 30 * time.Second
)

// specDir returns the instances directory, or why it cannot be used.
func (e *Env) specDir() (string, error) {
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

// lockSpecs serialises the commands that read the specs and then write
// one: create checks that no other spec has its port before writing its
// own, and two creates of one port must not both pass that check. The
// lock is a flock on the instances directory (no file of its own, so a
// read-only /etc/left4me still locks); a command that finds it held says
// who holds it and waits a while.
func (e *Env) lockSpecs(ctx context.Context) (release func(), err error) {
	dir, err := e.specDir()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, specLockWait)
	defer cancel()
	release, err = layout.WaitLock(ctx, dir, func(h *layout.HeldError) {
		e.note("waiting for another left4me command: %v", h)
	})
	if err != nil {
		return nil, fail.NeedsRoot(fmt.Errorf("lock the specs: %w", err), "locking "+dir)
	}
	// Every writer of specs holds this lock, so a temporary file found now
	// is what a killed one left (readers skip it; it would only pile up).
	tmps, _ := filepath.Glob(filepath.Join(dir, fsat.TempPrefix+"*.yaml.tmp*"))
	for _, p := range tmps {
		if err := os.Remove(p); err == nil {
			e.note("removed %s, left by an interrupted left4me command", p)
		}
	}
	return release, nil
}

// instance checks name and that its spec file exists (valid or not) and
// returns the file's path.
func (e *Env) instance(name string) (string, error) {
	if err := layout.ValidateName(name); err != nil {
		return "", err
	}
	if _, err := e.specDir(); err != nil {
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

// load returns an instance's spec, refusing an invalid one with every
// problem listed.
func (e *Env) load(name string) (*spec.Spec, error) {
	path, err := e.instance(name)
	if err != nil {
		return nil, err
	}
	s, err := spec.Judge(e.Layout, name)
	if errors.Is(err, fs.ErrPermission) {
		// Specs are root's (0640): they may hold an RCON password.
		return nil, fail.NeedsRoot(err, "reading "+path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be used:\n%v\nfix the file, then check it with `left4me validate %s`", layout.ErrInvalidSpec, path, fail.NeedsRoot(err, "reading "+path), name)
	}
	return s, nil
}

// names are the instance names from the spec files, for completion.
func (e *Env) names() []string {
	ents, _ := os.ReadDir(e.Layout.InstancesDir())
	var out []string
	for _, d := range ents {
		if n, ok := strings.CutSuffix(d.Name(), ".yaml"); ok && layout.ValidateName(n) == nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// completeNames is a BashComplete that offers instance names.
func (e *Env) completeNames(c *cli.Context) {
	for _, n := range e.names() {
		fmt.Fprintln(c.App.Writer, n)
	}
}

// connect reaches systemd (Connect bounds the wait itself: a deadline on
// ctx would close the connection when it passes).
func (e *Env) connect(ctx context.Context) (Systemd, error) {
	return e.Connect(ctx)
}

// reload has systemd rerun the generator after a spec change. Without
// systemd there is nothing to reload: the generator reads the specs at the
// next boot, which is said rather than treated as an error. done says
// what already happened, for the error message.
func (e *Env) reload(ctx context.Context, sd Systemd, done string) error {
	if sd == nil {
		var err error
		sd, err = e.connect(ctx)
		if errors.Is(err, fail.ErrNoSystemd) {
			e.note("systemd is not reachable, so it was not reloaded; it reads the specs at the next boot (or `systemctl daemon-reload`)")
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s, but %w", done, err)
		}
		defer sd.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, jobTimeout)
	defer cancel()
	if err := sd.Reload(ctx); err != nil {
		return fmt.Errorf("%s, but systemd was not reloaded: %w", done, err)
	}
	fmt.Fprintln(e.Stdout, "systemd reloaded")
	return nil
}

// note prints a remark for the operator on stderr, apart from the output.
func (e *Env) note(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "note: "+format+"\n", args...)
}

// paint colours s when colour is on.
func (e *Env) paint(s, code string) string {
	if !e.Color || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func unitOf(name string) string { return units.Instance(name) }

// onName is the Action of a command on one instance: it checks that the
// one argument is there and runs act with it.
func onName(act func(c *cli.Context, name string) error) cli.ActionFunc {
	return func(c *cli.Context) error {
		name, err := oneName(c)
		if err != nil {
			return err
		}
		return act(c, name)
	}
}

// oneName returns the single instance argument of a command.
func oneName(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("%w: %s takes one instance name, got %d arguments; e.g. left4me %s srv1", fail.ErrUsage, c.Command.Name, c.NArg(), c.Command.Name)
	}
	return c.Args().First(), nil
}
