package ovbuild

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/spec/layout"
)

//go:embed helpers.sh
var helpers string

// BuildUser is the system user builders run as (sysusers: left4me-build).
const BuildUser = "left4me-build"

// Job is one build to run.
type Job struct {
	Def       *Definition
	ID        string
	Instances []string // instances whose spec names the overlay
	Named     []string // every overlay path a spec names (Nesting)
	Out       io.Writer
	// Env is NAME=VALUE items the builder gets besides its own (PassEnv).
	Env []string
	// SystemdRun, Journalctl and Systemctl are the programs (tests may
	// replace them).
	SystemdRun, Journalctl, Systemctl string
}

// UnitName is the transient unit of build id of overlay name.
func UnitName(name, id string) string { return "left4me-build-" + name + "-" + id + ".service" }

// Prepare creates overlay-builds/NAME/.build-ID/{layer,scratch} (layer and
// scratch owned by the build user) and the helpers script.
func (s Store) Prepare(name, id string) (uid, gid int, err error) {
	u, err := user.Lookup(BuildUser)
	if err != nil {
		return 0, 0, fmt.Errorf("build user %s: %w; create it with systemd-sysusers (make install does)", BuildUser, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	bd := s.BuildDir(name, id)
	if err := os.MkdirAll(s.Dir(name), 0o755); err != nil {
		return 0, 0, err
	}
	if err := os.Mkdir(bd, 0o755); err != nil {
		return 0, 0, fmt.Errorf("create %s: %w", bd, err)
	}
	for _, d := range []struct {
		n    string
		mode os.FileMode
	}{{"layer", 0o755}, {"scratch", 0o700}} {
		p := filepath.Join(bd, d.n)
		if err := os.Mkdir(p, d.mode); err != nil {
			return 0, 0, fmt.Errorf("create %s: %w", p, err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return 0, 0, fmt.Errorf("chown %s: %w", p, err)
		}
	}
	if err := os.WriteFile(filepath.Join(bd, "helpers.sh"), []byte(helpers), 0o644); err != nil {
		return 0, 0, err
	}
	return uid, gid, nil
}

// Args are systemd-run's arguments for job j.
func (s Store) Args(j Job) []string {
	name, bd := j.Def.Name, s.BuildDir(j.Def.Name, j.ID)
	layer, scratch := filepath.Join(bd, "layer"), filepath.Join(bd, "scratch")
	a := []string{
		"--wait", "--collect", "--quiet", "--service-type=exec",
		"--unit=" + UnitName(name, j.ID),
		"--description=left4me overlay build " + name + " " + j.ID,
		"-p", "User=" + BuildUser, "-p", "Group=" + BuildUser,
		"-p", "ProtectSystem=strict", "-p", "ProtectHome=yes", "-p", "PrivateTmp=yes",
		"-p", "PrivateDevices=yes", "-p", "NoNewPrivileges=yes", "-p", "RestrictSUIDSGID=yes",
		"-p", "ProtectKernelTunables=yes", "-p", "ProtectKernelModules=yes", "-p", "ProtectControlGroups=yes",
		"-p", "RestrictRealtime=yes", "-p", "LockPersonality=yes", "-p", "CapabilityBoundingSet=",
		"-p", "UMask=0022",
		"-p", "ReadWritePaths=" + layer + " " + scratch,
		"-p", "InaccessiblePaths=-" + s.layout().RuntimeRoot(),
		// Nothing of this is needed by sh, tar, unzip or curl (fetch needs
		// the network: inet, inet6, unix and netlink for name lookups).
		"-p", "ProtectProc=invisible", "-p", "ProcSubset=pid", "-p", "ProtectKernelLogs=yes",
		"-p", "ProtectClock=yes", "-p", "ProtectHostname=yes", "-p", "PrivateMounts=yes",
		"-p", "RestrictNamespaces=yes", "-p", "RemoveIPC=yes",
		"-p", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		"-p", "SystemCallArchitectures=native", "-p", "SystemCallFilter=@system-service",
		"-p", "SystemCallFilter=~@resources", "-p", "SystemCallErrorNumber=EPERM",
		"-p", "WorkingDirectory=" + layer,
		"-p", fmt.Sprintf("RuntimeMaxSec=%d", int(j.Def.Timeout.Seconds())),
		"-p", "MemoryMax=" + j.Def.Memory, "-p", "MemorySwapMax=0",
		"-p", fmt.Sprintf("TasksMax=%d", j.Def.Tasks),
		"-p", "StandardOutput=journal", "-p", "StandardError=journal",
		"-E", "LAYER=" + layer, "-E", "SCRATCH=" + scratch, "-E", "HOME=" + scratch, "-E", "TMPDIR=/tmp",
		"-E", "OVERLAY=" + name, "-E", "VERSION=" + j.ID, "-E", "BUILDER=" + j.Def.Builder,
		"-E", "INSTANCES=" + strings.Join(j.Instances, " "),
		"-E", "PATH=/usr/local/bin:/usr/bin:/bin",
		"/bin/sh", "-eu", filepath.Join(bd, "helpers.sh"),
	}
	for _, kv := range j.Env {
		a = append(a[:len(a)-3:len(a)-3], "-E", kv, "/bin/sh", "-eu", filepath.Join(bd, "helpers.sh"))
	}
	if s.ConfigDir != "" {
		// Of /etc/left4me the builder sees its definitions and scripts
		// only: the specs beside them may hold other instances' RCON
		// passwords, and steam-password the Steam account's.
		a = append(a[:len(a)-3:len(a)-3],
			"-p", "TemporaryFileSystem="+s.ConfigDir+":ro", "-p", "BindReadOnlyPaths=-"+DefDir(layout.Layout{ConfigDir: s.ConfigDir}),
			"/bin/sh", "-eu", filepath.Join(bd, "helpers.sh"))
	}
	return a
}

// Run runs the builder and streams its journal to j.Out until the unit
// ended. It returns an error when the builder failed or timed out, and one
// that wraps ctx's error (context.Canceled: the CLI exits 130) when ctx
// ended first: the unit is stopped then, never left running.
func (s Store) Run(ctx context.Context, j Job) error {
	if st, err := os.Stat(j.Def.Builder); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("builder %s (from %s): not a readable file (%v)", j.Def.Builder, j.Def.File, err)
	}
	unit := UnitName(j.Def.Name, j.ID)
	fl := startFollow(ctx, j, unit)
	time.Sleep(200 * time.Millisecond) // let journalctl open the journal
	cmd := exec.CommandContext(ctx, j.SystemdRun, s.Args(j)...)
	// A process group of its own: the terminal's Ctrl-C reaches left4me
	// alone, which stops the unit and says so, rather than systemd-run
	// dying of it first and its exit reading as the builder's failure.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = j.Out, &stderr
	runErr := cmd.Run()
	if runErr != nil {
		// Killing systemd-run (Ctrl-C, SIGTERM, a timeout of ours) leaves
		// the transient unit running: the builder must be gone before
		// anyone touches its directory.
		if err := s.stopUnit(j, unit); err != nil {
			fl.finish(false)
			return err
		}
	}
	result := fl.finish(true)
	if runErr == nil {
		return nil
	}
	return runError(ctx, j, unit, result, runErr, strings.TrimSpace(stderr.String()))
}

// runError says why the build unit did not succeed: interrupted, the
// builder's limits (PID 1's UNIT_RESULT, as the journal told it), or its
// own failure.
func runError(ctx context.Context, j Job, unit, result string, runErr error, stderr string) error {
	out := "; its output: journalctl -u " + unit
	switch {
	case ctx.Err() != nil:
		return endedEarly{Interrupted, fmt.Sprintf("interrupted before the builder %s finished; its unit %s was stopped", j.Def.Builder, unit), ctx.Err()}
	case result == "timeout":
		return endedEarly{TimedOut, fmt.Sprintf("the builder %s ran longer than its timeout (%v, timeout: in %s) and was stopped%s", j.Def.Builder, j.Def.Timeout, j.Def.File, out), nil}
	case result == "oom-kill":
		return endedEarly{OutOfMemory, fmt.Sprintf("the builder %s used more memory than its limit (%s, memory_max: in %s) and was killed%s", j.Def.Builder, j.Def.Memory, j.Def.File, out), nil}
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		return fmt.Errorf("builder %s failed (systemd-run exit status %d)%s%s", j.Def.Builder, ee.ExitCode(), prefix(": ", stderr), out)
	}
	return fmt.Errorf("run %s: %w%s", j.SystemdRun, runErr, prefix(": ", stderr))
}

// endedEarly is a build ended before its builder did: by Ctrl-C or a stop
// of left4me (cause is ctx's error for errors.Is: main says "interrupted"
// and exits 130, no alert is sent), or by a limit of its definition. Its
// text and outcome are what `overlay status` shows.
type endedEarly struct {
	outcome Outcome
	msg     string
	cause   error
}

func (e endedEarly) Error() string { return e.msg }
func (e endedEarly) Unwrap() error { return e.cause }

// Outcome is how a build or import ended, as `overlay status` shows it.
type Outcome string

const (
	Succeeded   Outcome = "succeeded"
	Failed      Outcome = "failed"
	Interrupted Outcome = "interrupted"
	TimedOut    Outcome = "timed-out"     // stopped at its definition's timeout
	OutOfMemory Outcome = "out-of-memory" // killed at its definition's memory_max
)

// OutcomeOf is the outcome of a build or import that returned err.
func OutcomeOf(err error) Outcome {
	var s endedEarly
	switch {
	case err == nil:
		return Succeeded
	case errors.As(err, &s):
		return s.outcome
	case errors.Is(err, context.Canceled):
		return Interrupted
	}
	return Failed
}

// follower copies the build unit's journal to j.Out while it runs.
type follower struct {
	stop  context.CancelFunc
	jc    *exec.Cmd // nil: not following
	wg    sync.WaitGroup
	ended chan string // PID 1's UNIT_RESULT once the unit ended
}

func startFollow(ctx context.Context, j Job, unit string) *follower {
	// Not ended with ctx: after a Ctrl-C it shows the unit's stop; finish
	// ends it.
	fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	f := &follower{stop: stop, ended: make(chan string, 1)}
	jc := exec.CommandContext(fctx, j.Journalctl, "-f", "-n", "all", "-o", "json", "-u", unit)
	jc.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // it shows the unit's stop after a Ctrl-C
	pipe, err := jc.StdoutPipe()
	if err != nil || jc.Start() != nil {
		fmt.Fprintf(j.Out, "(cannot follow the journal; see journalctl -u %s)\n", unit)
		return f
	}
	f.jc = jc
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		follow(pipe, j.Out, f.ended)
	}()
	return f
}

// finish stops following, after the unit's last messages when wait (they
// reach the journal a bit after systemd-run returns), and returns the
// unit's result; "" when the journal did not tell it.
func (f *follower) finish(wait bool) string {
	result := ""
	if wait && f.jc != nil {
		select {
		case result = <-f.ended:
		case <-time.After(3 * time.Second):
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.stop()
	f.wg.Wait()
	if f.jc != nil {
		_ = f.jc.Wait()
	}
	return result
}

// ErrUnitAlive: the build unit could not be confirmed stopped, so its
// directory must be left alone (the builder may still write there).
var ErrUnitAlive = errors.New("the build unit could not be confirmed stopped")

// stopUnit stops the build's unit and confirms it is no longer active.
// It does not use the caller's context, which is likely cancelled.
func (s Store) stopUnit(j Job, unit string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sc := j.Systemctl
	if sc == "" {
		sc = "systemctl"
	}
	_ = exec.CommandContext(ctx, sc, "stop", unit).Run() // waits for the stop job
	out, err := exec.CommandContext(ctx, sc, "show", "-P", "ActiveState", unit).Output()
	switch st := strings.TrimSpace(string(out)); {
	case err == nil && (st == "inactive" || st == "failed"):
		return nil
	case err == nil:
		err = fmt.Errorf("it is %s", st)
	}
	return fmt.Errorf("%w (%s: %v); its directory %s is left as it is: remove it once `systemctl status %s` shows it inactive",
		ErrUnitAlive, unit, err, s.BuildDir(j.Def.Name, j.ID), unit)
}

func prefix(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// Message IDs of PID 1 when a unit ended (sd-messages.h).
const (
	msgUnitSuccess = "7ad2d189f7e94e70a38c781354912448"
	msgUnitFailure = "d9b373ed55a64feb8242e02dbe79a49c"
)

// follow prints the MESSAGE of each journal entry (journalctl -o json) and
// sends the unit's result (UNIT_RESULT) on ended once PID 1 reported its
// end.
func follow(r io.Reader, out io.Writer, ended chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e map[string]any
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		var msg string
		switch m := e["MESSAGE"].(type) {
		case string:
			msg = m
		case []any: // non-UTF-8: an array of bytes
			b := make([]byte, 0, len(m))
			for _, x := range m {
				if f, ok := x.(float64); ok {
					b = append(b, byte(f))
				}
			}
			msg = string(b)
		}
		// The builder is a third party's script: its text must not drive
		// the operator's terminal or forge lines of ours.
		msg = termsafe.Line(msg)
		if e["_PID"] == "1" {
			msg = "systemd: " + msg
		}
		fmt.Fprintln(out, msg)
		if id, _ := e["MESSAGE_ID"].(string); e["_PID"] == "1" && (id == msgUnitSuccess || id == msgUnitFailure) {
			result, _ := e["UNIT_RESULT"].(string)
			if result == "" && id == msgUnitSuccess {
				result = "success"
			}
			select {
			case ended <- result:
			default:
			}
		}
	}
}
