package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/units"
)

// fakeSD is systemd as the commands see it: unit states and a call log.
type fakeSD struct {
	units     map[string]control.Unit
	failStart map[string]string // unit -> job result of a failing start
	failStop  bool              // stops fail, the unit staying as it is
	calls     []string
	closed    int
	// argv is each main process's command line, as of its start (see
	// tenv.started); pids count up from 100.
	argv    map[uint32][]string
	nextPID uint32
	// started makes the argv of a unit that becomes active.
	started func(unit string) []string
	// stopped, if set, runs as a stop job ends, and read before a unit's
	// state is read (what others do meanwhile).
	stopped, read func(unit string)
	// starting, if set, runs as a start job runs (a oneshot's run).
	starting func(unit string)
}

func newFakeSD() *fakeSD {
	return &fakeSD{units: map[string]control.Unit{}, failStart: map[string]string{}, argv: map[uint32][]string{}, nextPID: 100}
}

func (f *fakeSD) get(name string) control.Unit {
	if u, ok := f.units[name]; ok {
		return u
	}
	return control.Unit{Name: name, LoadState: "loaded", ActiveState: "inactive", SubState: "dead", Result: "success"}
}

// set puts a unit in a state; one that becomes active gets a new main
// process whose argv is made from its spec as it is now.
func (f *fakeSD) set(name, active, sub string) {
	u := f.get(name)
	wasActive := u.ActiveState == "active"
	u.ActiveState, u.SubState = active, sub
	switch {
	case active == "active" && (!wasActive || sub == "restarted"):
		f.nextPID++
		u.MainPID, u.SubState = f.nextPID, "running"
		if f.started != nil {
			f.argv[u.MainPID] = f.started(name)
		}
	case active != "active":
		u.MainPID = 0
	}
	f.units[name] = u
}

func (f *fakeSD) Units(_ context.Context, names []string) ([]control.Unit, error) {
	f.calls = append(f.calls, "units")
	var out []control.Unit
	for _, n := range names {
		// Only what ListUnitsByNames gives, as control.Units.
		u := f.get(n)
		out = append(out, control.Unit{Name: u.Name, LoadState: u.LoadState, ActiveState: u.ActiveState, SubState: u.SubState})
	}
	return out, nil
}

func (f *fakeSD) Unit(ctx context.Context, name string) (control.Unit, error) {
	if f.read != nil {
		f.read(name)
	}
	if err := ctx.Err(); err != nil { // as a D-Bus call ended by its context
		return control.Unit{}, fmt.Errorf("state of %s: %w", name, err)
	}
	return f.get(name), nil
}

func (f *fakeSD) Loaded(_ context.Context, pattern string) ([]control.Unit, error) {
	var out []control.Unit
	for n, u := range f.units {
		if ok, _ := path.Match(pattern, n); ok {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeSD) Start(_ context.Context, unit string) error {
	if f.starting != nil {
		f.starting(unit)
	}
	f.calls = append(f.calls, "start "+unit)
	if res, ok := f.failStart[unit]; ok {
		f.set(unit, "failed", "failed")
		u := f.units[unit]
		u.Result = "exit-code"
		f.units[unit] = u
		return &control.JobError{Op: "start", Unit: unit, Result: res}
	}
	f.set(unit, "active", "running")
	return nil
}

func (f *fakeSD) Stop(_ context.Context, unit string) error {
	f.calls = append(f.calls, "stop "+unit)
	if f.failStop {
		return errors.New("job failed")
	}
	// As systemd: a stop job leaves a failed unit failed (only
	// reset-failed clears it).
	if f.units[unit].ActiveState != "failed" {
		f.set(unit, "inactive", "dead")
	}
	if f.stopped != nil {
		f.stopped(unit)
	}
	return nil
}

func (f *fakeSD) Restart(ctx context.Context, unit string) error {
	f.calls = append(f.calls, "restart "+unit)
	f.set(unit, "active", "restarted")
	return nil
}

func (f *fakeSD) Enqueue(_ context.Context, unit string) error {
	f.calls = append(f.calls, "enqueue start "+unit)
	return nil
}

func (f *fakeSD) Reload(context.Context) error {
	f.calls = append(f.calls, "reload")
	return nil
}

func (f *fakeSD) ResetFailed(_ context.Context, unit string) error {
	f.calls = append(f.calls, "reset-failed "+unit)
	if f.units[unit].ActiveState == "failed" {
		f.set(unit, "inactive", "dead")
	}
	return nil
}

func (f *fakeSD) Close() { f.closed++ }

// tenv is a test environment below t.TempDir(): an installed game, an
// instances dir, a fake systemd and captured output.
type tenv struct {
	*Env
	out, err *bytes.Buffer
	sd       *fakeSD
	journal  [][]string
	// prestartSaid is what the start helper logged (a refusal).
	prestartSaid string
	// stoppingSaid is what PID 1 logged as a stop job of the run began.
	stoppingSaid string
}

func newEnv(t *testing.T) *tenv {
	t.Helper()
	base := t.TempDir()
	te := &tenv{out: &bytes.Buffer{}, err: &bytes.Buffer{}, sd: newFakeSD()}
	l := layout.Layout{ConfigDir: filepath.Join(base, "etc"), Root: filepath.Join(base, "var")}
	mkdirs(t, l.InstancesDir(), filepath.Join(l.Root, "installation", "left4dead2"), filepath.Join(l.Root, "overlays"), filepath.Join(l.Root, "runtime"))
	writeFile(t, filepath.Join(l.Root, "installation", "srcds_run"), "#!/bin/sh\n")
	writeFile(t, filepath.Join(l.Root, "installation", "srcds_linux"), "#!/bin/sh\n")
	mountinfo := filepath.Join(base, "mountinfo")
	writeFile(t, mountinfo, "")
	te.Env = &Env{
		Env: clienv.Env{
			Layout: l, Stdin: strings.NewReader(""), Stdout: te.out, Stderr: te.err,
			Connect: func(context.Context) (clienv.Systemd, error) { return te.sd, nil },
			Journal: func(_ context.Context, args []string, stdout, _ io.Writer) error {
				te.journal = append(te.journal, args)
				if slices.Contains(args, "--identifier") {
					fmt.Fprint(stdout, te.prestartSaid) // the start helper's own lines
					return nil
				}
				if slices.Contains(args, "MESSAGE_ID=de5b426a63be47a7b6ac3eaac82e2f6f") {
					fmt.Fprint(stdout, te.stoppingSaid) // PID 1's "Stopping" of a run
					return nil
				}
				fmt.Fprintln(stdout, "server said goodbye")
				return nil
			},
			Now: func() time.Time { return time.Date(2025, 11, 26, 12, 0, 0, 0, time.UTC) },
		},
		ServerUser: func() (int, int, error) { return os.Getuid(), os.Getgid(), nil },
		// Nobody plays unless a test says so.
		Players:   func(context.Context, string) (int, int, error) { return 0, 0, nil },
		MountInfo: mountinfo,
		UnitPoll:  time.Millisecond,
		RetryDir:  filepath.Join(base, "retry"),
		// No console unless a test serves one: never the host's.
		ConsoleDir: filepath.Join(base, "console"),
		// Nor the host's 32-bit libraries: none.
		HostRoot: filepath.Join(base, "host"),
		ServerInfo: func(_ context.Context, addr string) (a2s.Info, error) {
			return a2s.Info{Map: "c1m1_hotel", Players: 3, Bots: 1, MaxPlayers: 8}, nil
		},
		PlayerList: func(_ context.Context, addr string) ([]a2s.Player, error) {
			return []a2s.Player{{Name: "Ellis", Score: 12, Duration: 61}, {Name: "Player1", Score: 3, Duration: 3600}}, nil
		},
		ServerArgv: func(pid uint32) ([]string, error) {
			if argv, ok := te.sd.argv[pid]; ok {
				return argv, nil
			}
			// A main PID a test set by hand: its unit's spec as it is now.
			for name, u := range te.sd.units {
				if u.MainPID == pid && te.sd.started != nil {
					return te.sd.started(name), nil
				}
			}
			return nil, fmt.Errorf("no process %d", pid)
		},
	}
	// A unit that starts runs its spec's command line as it is then.
	te.sd.started = func(unit string) []string {
		name := strings.TrimSuffix(strings.TrimPrefix(unit, "l4d2@"), ".service")
		s, err := spec.Judge(l, name)
		if err != nil {
			return []string{"left4me-relay", "srcds_linux"}
		}
		return append([]string{"left4me-relay"}, units.Command(l, name, s)...)
	}
	return te
}

// run runs one command line and returns its error.
func (te *tenv) run(args ...string) error {
	te.out.Reset()
	te.err.Reset()
	return Run(context.Background(), te.Env, append([]string{"left4me"}, args...))
}

// noSystemd makes systemd unreachable.
func (te *tenv) noSystemd() {
	te.Connect = func(context.Context) (clienv.Systemd, error) {
		return nil, fmt.Errorf("%w: neither the system bus nor /run/systemd/private answered", fail.ErrNoSystemd)
	}
}

func (te *tenv) spec(t *testing.T, name, body string) string {
	p := te.Layout.SpecPath(name)
	writeFile(t, p, body)
	return p
}

func (te *tenv) overlay(t *testing.T, path, serverCfg string) {
	dir := filepath.Join(te.Layout.Root, "overlays", path)
	mkdirs(t, dir)
	if serverCfg != "" {
		mkdirs(t, filepath.Join(dir, "left4dead2", "cfg"))
		writeFile(t, filepath.Join(dir, "left4dead2", "cfg", "server.cfg"), serverCfg)
	}
}

func mkdirs(t testing.TB, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
