// Package container boots systemd as PID 1 in a throw-away systemd-nspawn
// container whose root is a copy-on-write overlay of the host's own /, so
// no image has to be built or downloaded.
//
// It is used by the end-to-end tests (tests/e2e, whose harness wraps it
// for *testing.T) and by the demo (tests/demo). It returns errors and
// never prints; Options.Logf receives what is worth knowing but no error.
package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// StateMount is where the state directory appears in the container.
	StateMount = "/var/lib/left4me"
	// runTimeout keeps a hung command inside the container from hanging
	// the caller (a test binary until go test's global timeout, which
	// skips cleanups).
	runTimeout = 2 * time.Minute
	// haltTimeout bounds the orderly shutdown in Stop.
	haltTimeout = 30 * time.Second
)

// Options describes a container to be made by New.
type Options struct {
	// Prefix starts every machine name, mount source and cgroup, e.g.
	// "left4me-e2e-"; the owner's PID follows, so that Sweep(Prefix) can
	// tell a dead owner's leftovers. Empty means "left4me-".
	Prefix string
	// State is a host directory, made by the caller, to bind to StateMount.
	// It must be on a real filesystem (not overlayfs) because the project
	// mounts overlays inside it. Empty means a fresh directory on the
	// container's tmpfs, removed by Close.
	State string
	// Lower is the read-only lower layer of the container's root, e.g. a
	// debootstrapped tree of another release to boot its systemd. It must
	// not be on the tmpfs the container makes. Empty means the host's /.
	Lower string
	// Logf, if not nil, receives remarks that are not errors: a degraded
	// boot, a container that was not isolated in a cgroup of its own.
	Logf func(format string, args ...any)
}

// seq tells apart the containers of one process: parallel containers must
// not share nspawn's per-machine state (/run/systemd/nspawn/propagate/NAME).
var seq atomic.Int64

// Container is a throw-away container. Close stops it and removes every
// mount, cgroup and directory it made.
type Container struct {
	Root  string // container root as seen from the host (overlay mount)
	State string // host directory bound to StateMount, on the tmpfs
	Name  string // machine name, also the container's hostname
	PID1  int    // host PID of the container's systemd, once booted

	base    string        // tmpfs holding upper/work/root/state and the console log
	console string        // nspawn's stdout and stderr
	nspawn  *exec.Cmd     // the systemd-nspawn process
	cgroups []string      // per-container cgroups nspawn was started in
	exited  chan struct{} // closed once nspawn has been reaped
	stopped bool          // Stop has run
	logf    func(format string, args ...any)
}

// New mounts a fresh root (and, unless opt.State is given, an empty state
// directory), to be filled before Boot. On error, whatever was set up is
// already removed again.
func New(opt Options) (*Container, error) {
	if opt.Prefix == "" {
		opt.Prefix = "left4me-"
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.Lower == "" {
		opt.Lower = "/"
	}
	if strings.ContainsAny(opt.Lower, ",:") { // overlayfs's option separators
		return nil, fmt.Errorf("lower dir %q: a comma or colon cannot be passed to overlayfs", opt.Lower)
	}
	if opt.State != "" {
		if err := checkStateDir(opt.State); err != nil {
			return nil, err
		}
	}
	c := &Container{
		State:  opt.State,
		Name:   fmt.Sprintf("%s%d-%d", opt.Prefix, os.Getpid(), seq.Add(1)),
		exited: make(chan struct{}),
		logf:   opt.Logf,
	}
	err := c.mountRoot(opt.Prefix, opt.Lower)
	if err != nil {
		err = fmt.Errorf("mount container root: %w", err)
	} else if err = prepareRoot(c.Root, c.Name); err != nil {
		err = fmt.Errorf("prepare container root: %w", err)
	}
	if err != nil {
		return nil, errors.Join(err, c.Close())
	}
	return c, nil
}

// Boot starts systemd in the container and waits until it has booted,
// at most timeout. On error the caller still has to Close.
func (c *Container) Boot(ctx context.Context, timeout time.Duration) error {
	if err := c.start(); err != nil {
		return fmt.Errorf("start systemd-nspawn: %w", err)
	}
	bootCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := c.waitRunning(bootCtx)
	if err != nil && ctx.Err() == nil { // no diagnostics for an interrupt
		err = fmt.Errorf("%w\n%s", err, c.Diagnostics())
	}
	return err
}

// Run runs a command inside the container (all of PID 1's namespaces) and
// returns its stdout; a non-zero exit becomes an error carrying stderr.
func (c *Container) Run(ctx context.Context, args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("run: no command")
	}
	ctx, cancel := context.WithTimeout(ctx, runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(c.PID1), "-a", "--"}, args...)...)
	// A fixed environment: the caller's means nothing in the container.
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LANG=C.UTF-8", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "TERM=dumb",
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Its own process group keeps a terminal's Ctrl-C away (the caller
	// cancels ctx instead), and on cancel lets us kill what nsenter
	// forked into the container while nsenter stays to reap it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if killGroupBut(cmd.Process.Pid) == 0 { // not forked yet
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("in container %s: %q: %w; stderr: %s", c.Name, args, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Netns runs fn on an OS thread that has joined the container's network
// namespace, so 127.0.0.1 in fn is the container's loopback. Sockets must
// be created inside fn, not in goroutines it starts.
func (c *Container) Netns(fn func()) (err error) {
	runtime.LockOSThread()
	// thread-self: namespaces are per thread.
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own netns: %w", err)
	}
	defer unix.Close(orig)
	target, err := unix.Open("/proc/"+strconv.Itoa(c.PID1)+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err == nil {
		err = unix.Setns(target, unix.CLONE_NEWNET)
		unix.Close(target)
	}
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter container netns: %w", err)
	}
	// Deferred so that a panic in fn also restores.
	defer func() {
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			// Stay locked: the runtime then discards the thread when the
			// goroutine ends instead of reusing it in the wrong namespace.
			err = fmt.Errorf("restore host netns: %w", rerr)
			return
		}
		runtime.UnlockOSThread()
	}()
	fn()
	return nil
}

// Close halts the container (see Stop; a container that had to be killed
// is an error here) and removes every mount, cgroup and directory New and
// Boot made. It copes with a Boot that failed halfway and may be called
// more than once, also after Stop.
func (c *Container) Close() error {
	var errs []error
	if killed, err := c.Stop(); killed {
		errs = append(errs, fmt.Errorf("container %s did not halt within %v; killed it", c.Name, haltTimeout))
	} else if err != nil {
		errs = append(errs, err)
	}
	if c.cgroups != nil {
		if err := removeCgroups(c.cgroups); err != nil {
			errs = append(errs, fmt.Errorf("remove container cgroups: %w", err))
		}
	}
	// Nothing should be mounted beneath a caller's state dir on the host
	// (the container's mounts live in its own namespace), but make sure.
	if c.State != "" && c.base != "" && !strings.HasPrefix(c.State, c.base+"/") {
		if err := unmountUnder(c.State, false); err != nil {
			errs = append(errs, fmt.Errorf("unmount beneath state dir: %w", err))
		}
	}
	if c.base != "" {
		if err := unmountUnder(c.base, true); err != nil {
			errs = append(errs, fmt.Errorf("unmount container root: %w", err))
		}
		// rmdir, not RemoveAll: should the tmpfs still be mounted, never
		// recurse into what could be an overlay of the host's root.
		if err := os.Remove(c.base); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
		if left, _ := MountsUnder(c.base, true); len(left) > 0 {
			errs = append(errs, fmt.Errorf("still mounted: %v", left))
		}
	}
	return errors.Join(errs...)
}

// Base is the tmpfs directory every mount of the container lives under.
func (c *Container) Base() string { return c.base }

// Exited reports whether systemd-nspawn has been reaped.
func (c *Container) Exited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// NspawnPID is the host PID of systemd-nspawn, 0 before Boot.
func (c *Container) NspawnPID() int {
	if c.nspawn == nil {
		return 0
	}
	return c.nspawn.Process.Pid
}

// Cgroups are the cgroups the container was started in; Close removes them.
func (c *Container) Cgroups() []string { return c.cgroups }

// Diagnostics collects what explains a failure: failed units, pending
// jobs, the end of the journal and the end of the console. It is empty
// for a container that was never started.
func (c *Container) Diagnostics() string {
	var b strings.Builder
	for _, cmd := range [][]string{
		{"systemctl", "--failed", "--no-pager"},
		{"systemctl", "list-jobs", "--no-pager"},
		{"journalctl", "-b", "--no-pager", "-n", "150"},
	} {
		if c.PID1 == 0 || c.Exited() {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := c.Run(ctx, cmd...)
		cancel()
		b.WriteString("$ " + strings.Join(cmd, " ") + "\n" + out)
		if err != nil {
			b.WriteString(err.Error() + "\n")
		}
	}
	if c.nspawn == nil {
		return b.String()
	}
	data, err := os.ReadFile(c.console)
	if err != nil {
		return b.String() + "console: " + err.Error()
	}
	console := cleanConsole(string(data))
	if len(console) > 16<<10 {
		console = "...\n" + console[len(console)-16<<10:]
	}
	return b.String() + "console:\n" + console
}
