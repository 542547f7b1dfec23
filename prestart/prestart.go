// Package prestart prepares and tears down an instance's filesystem around
// its server process: it stages the server.cfg chain in the instance's upper
// layer and mounts (or unmounts) its overlayfs. It runs as root on input that
// others wrote, so every path below a directory it does not own is opened
// without following links (see fsx.go).
package prestart

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"

	"io/fs"

	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/specfile"
	"github.com/left4me/left4me/spec/startplan"
)

// Config is what the helpers need besides the instance name.
type Config struct {
	Layout layout.Layout
	UID    int // the server's user: owns the upper layer and staged files
	GID    int
	Log    io.Writer // step lines, the journal when run by systemd
	// IdmapPins is where the idmapped layers' user namespace is pinned
	// for the boot (IdmapPinDir); empty makes a new one at every start.
	IdmapPins string
	// PrivateTmp, when set, is where the disk timer finds each running
	// server's private /tmp and /var/tmp, which count against its ceiling.
	PrivateTmp PrivateTmp
	// Proc, when set, is where the disk timer finds each running
	// server's processes (/proc): the files they deleted but keep open
	// count against its ceiling too.
	Proc string

	// AutoRestarted, when set, says whether this start is one systemd made
	// by itself (Restart=, AutoRestarted); it is asked only when the spec
	// changed since the plan was made.
	AutoRestarted func() (bool, error)

	// attachLayers makes the tests take the path of kernels before 6.15,
	// which refuse detached mounts as overlay layers.
	attachLayers bool
}

// waiting says who holds an instance's lock a helper waits for.
func (c Config) waiting(h *layout.HeldError) { c.step("waiting: %v", h) }

func (c Config) step(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Errors of Start, matched with errors.Is.
var (
	// ErrStale: the spec changed after systemd last loaded the generated units.
	ErrStale = errors.New("spec changed since systemd last loaded it")
	// ErrNoPlan: the generator wrote no plan for the instance.
	ErrNoPlan = errors.New("no start plan")
	// ErrNoGame: there is no game installation to mount (not a problem
	// of the spec).
	ErrNoGame = errors.New("the game is not installed")
	// ErrNoIdmap: the kernel or a layer's filesystem has no idmapped mounts.
	ErrNoIdmap = errors.New("idmapped mounts are not supported here (they need Linux 5.19 or later, and ext4, xfs, btrfs or tmpfs); the server cannot write into directories that come from the installation or an overlay")
)

// Start prepares instance name for its server from the plan the generator
// wrote at the last daemon-reload: checks that the spec file is still the
// one the plan was made from, creates the instance's directories, stages its
// cfg files, recovers a leftover mount and mounts the overlay.
func Start(c Config, name string, p startplan.Plan) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	path := c.Layout.SpecPath(name)
	if len(p.Errors) > 0 {
		return fmt.Errorf("the spec was invalid at the last daemon-reload (%w), so it has no unit to start; fix it (`left4me validate %s`) and run `systemctl daemon-reload`:\n%s",
			layout.ErrInvalidSpec, name, strings.Join(p.Errors, "\n"))
	}
	data, err := specfile.Read(path)
	if err != nil {
		return fmt.Errorf("spec of %s: %w", name, err)
	}
	if !bytes.Equal(data, p.Spec) {
		// A crashed or hung server comes back as it ran: the unit's port
		// and arguments and this plan are both from the spec systemd
		// loaded. Only a start somebody asked for waits for the edit.
		auto := false
		if c.AutoRestarted != nil {
			var err error
			if auto, err = c.AutoRestarted(); err != nil {
				c.step("warning: %v", err)
			}
		}
		if !auto {
			return fmt.Errorf("%s: %w; the running port and arguments would not match it: run `systemctl daemon-reload` and start again", path, ErrStale)
		}
		c.step("warning: %s: %v; systemd restarts the server by itself, so it runs as before, on the spec systemd loaded: `left4me restart %s` applies the edit", path, ErrStale, name)
	}
	inst, err := openInstance(c, name)
	if err != nil {
		return err
	}
	defer inst.close()
	if n, err := rundir.Unmount(inst.merged); err != nil {
		return err
	} else if n > 0 {
		c.step("recovered: removed %d leftover mount(s) from %s", n, inst.merged)
	}
	if err := pruneLogsAt(c, inst.upper, c.Layout.RuntimeDir(name)+"/"+layout.Upper, logBounds(p, false)); err != nil {
		c.step("%v", err) // the logs stay a while longer; no reason to refuse the start
	}
	if err := checkDisk(c, name, inst.lock, p.Disk); err != nil {
		return err
	}
	c.step("resolving layers...")
	layers, err := openLayers(c.Layout.Root, p.Overlays)
	if err != nil {
		return err
	}
	defer layers.close()
	copies, err := layers.readCfgs(p.Overlays, c.UID, c.GID)
	if err != nil {
		return err
	}
	if err := recordInstallation(inst.lock, c.Layout.RuntimeDir(name), c.Layout.Root, layers.fds[len(layers.fds)-1]); err != nil {
		return err
	}
	cfg, auto := ServerCfg(p)
	c.step("staging server.cfg (%d auto exec line(s), %d config line(s)) and %d overlay cfg(s) in the upper layer...", auto, len(p.Config), count(copies))
	if err := stage(inst.upper, rundir.Of(c.Layout, name).Part(layout.Upper), cfg, copies, c.UID, c.GID); err != nil {
		return err
	}
	if err := recordPorts(inst.lock, c.Layout.RuntimeDir(name), p.Ports); err != nil {
		return err
	}
	if err := recordCeiling(inst.lock, c.Layout.RuntimeDir(name), p.Disk); err != nil {
		return err
	}
	c.step("mounting overlay on %s: %d overlay(s) over the installation...", inst.merged, len(p.Overlays))
	if err := mountLayers(c, inst, layers, c.Layout.RuntimeDir(name)); err != nil {
		return err
	}
	c.step("%s", ReadyLine(name))
	return nil
}

// Stop unmounts the instance's overlay. It is idempotent and touches nothing
// else: the upper layer is the instance's data.
func Stop(c Config, name string) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	d := rundir.Of(c.Layout, name)
	merged := d.Part(layout.Merged)
	lock, err := d.LockWait(c.waiting)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // never started: nothing to unmount
		}
		return err
	}
	defer unix.Close(lock)
	n, err := rundir.Unmount(merged)
	if err != nil {
		return err
	}
	if n > 0 {
		c.step("unmounted %s", merged)
	} else {
		c.step("%s was not mounted", merged)
	}
	return nil
}

// RecordStop writes invocation to runtime/NAME's layout.Stopped (root's,
// under the instance's lock): that run ended in a stop somebody asked
// for. A name never started has nowhere to record it, and needs none.
func RecordStop(c Config, name, invocation string) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	// systemd's INVOCATION_ID: 128 bits in hex (sd_id128_to_string).
	if _, err := hex.DecodeString(invocation); err != nil || len(invocation) != 32 {
		return fmt.Errorf("record the stop of %s: bad invocation %q", name, invocation)
	}
	d := rundir.Of(c.Layout, name)
	lock, err := d.LockWait(c.waiting)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("record the stop of %s: %w", name, err)
	}
	defer unix.Close(lock)
	return replaceAt(lock, layout.Stopped, []byte(invocation+"\n"), d.Path)
}

func count(copies []cfgCopy) (n int) {
	for _, c := range copies {
		if c.data != nil {
			n++
		}
	}
	return n
}

// ReadyLine is the start helper's last line when it got the instance
// ready: the CLI tells a refused start from a server that failed after it.
func ReadyLine(name string) string { return "instance " + name + " ready" }
