// Package container boots systemd as PID 1 in a throw-away systemd-nspawn
// container whose root is a copy-on-write overlay of the host's own /, so
// no image has to be built or downloaded.
//
// It is the recipe of the tests/e2e harness without *testing.T, for the
// demo. The code is a copy of harness_{test,boot,root,mount,proc,cgroup}
// _test.go adapted to return errors; the harness can be moved onto this
// package once it lives outside tests/demo.
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
	// prefix starts every machine name, mount source and cgroup, followed
	// by the owner's PID, so that Sweep can tell a dead owner's leftovers.
	prefix = "left4me-demo-"
	// runTimeout keeps a hung command from hanging the caller.
	runTimeout = 2 * time.Minute
)

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
}

// New mounts a fresh root and an empty state directory, to be filled
// before Boot. On error, whatever was set up is already removed again.
func New() (*Container, error) {
	c := &Container{Name: fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), seq.Add(1)), exited: make(chan struct{})}
	err := c.mountRoot()
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
		return stdout.String(), fmt.Errorf("in container: %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
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

// Close halts the container and removes every mount, cgroup and
// directory Boot made. It copes with a Boot that failed halfway and may
// be called more than once.
func (c *Container) Close() error {
	var errs []error
	if c.nspawn != nil {
		errs = append(errs, c.stop())
	}
	if c.cgroups != nil {
		if err := removeCgroups(c.cgroups); err != nil {
			errs = append(errs, fmt.Errorf("remove container cgroups: %w", err))
		}
		c.cgroups = nil
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
		if left, _ := MountsUnder(c.base); len(left) > 0 {
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

// Diagnostics collects what explains a failure: failed units, the end of
// the journal and the end of the console.
func (c *Container) Diagnostics() string {
	var b strings.Builder
	for _, cmd := range [][]string{
		{"systemctl", "--failed", "--no-pager"},
		{"journalctl", "-b", "--no-pager", "-n", "60"},
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
	if data, err := os.ReadFile(c.console); err == nil {
		console := cleanConsole(string(data))
		if len(console) > 8<<10 {
			console = "...\n" + console[len(console)-8<<10:]
		}
		b.WriteString("console:\n" + console)
	}
	return b.String()
}
