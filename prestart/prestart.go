// Package prestart prepares and tears down an instance's filesystem around
// its server process: it stages the server.cfg chain in the instance's upper
// layer and mounts (or unmounts) its overlayfs. It runs as root on input that
// others wrote, so every path below a directory it does not own is opened
// without following links (see fsx.go).
package prestart

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/left4me/left4me/spec"
	"golang.org/x/sys/unix"
)

// Config is what the helpers need besides the instance name.
type Config struct {
	Layout spec.Layout
	UID    int // the server's user: owns the upper layer and staged files
	GID    int
	Log    io.Writer // step lines, the journal when run by systemd
}

func (c Config) step(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// ErrStale is returned by Start when the spec changed after systemd last
// loaded the generated units.
var ErrStale = errors.New("spec changed since systemd last loaded it")

// Start prepares instance name for its server: checks the spec, creates the
// instance's directories, stages its cfg files, recovers a leftover mount and
// mounts the overlay. digest is what the generator saw ("" skips the check,
// for use outside systemd).
func Start(c Config, name, digest string) error {
	s, err := spec.LoadInstance(c.Layout, name)
	if err != nil {
		return err
	}
	if digest != "" && digest != s.Digest {
		return fmt.Errorf("%s: %w; the running port and arguments would not match it: run `systemctl daemon-reload` and start again", c.Layout.SpecPath(name), ErrStale)
	}
	inst, err := openInstance(c, name)
	if err != nil {
		return err
	}
	defer inst.close()
	if n, err := unmountAll(inst.merged); err != nil {
		return err
	} else if n > 0 {
		c.step("recovered: removed %d leftover mount(s) from %s", n, inst.merged)
	}
	c.step("resolving layers...")
	layers, err := openLayers(c.Layout.Root, s)
	if err != nil {
		return err
	}
	defer layers.close()
	copies, err := layers.readCfgs(s, c.UID, c.GID)
	if err != nil {
		return err
	}
	if err := recordInstallation(inst.lock, c.Layout.RuntimeDir(name), c.Layout.Root, layers.fds[len(layers.fds)-1]); err != nil {
		return err
	}
	cfg, auto := ServerCfg(s)
	c.step("staging server.cfg (%d auto exec line(s), %d config line(s)) and %d overlay cfg(s) in the upper layer...", auto, len(s.Config), count(copies))
	if err := stage(inst.upper, filepath.Join(c.Layout.RuntimeDir(name), "upper"), cfg, copies, c.UID, c.GID); err != nil {
		return err
	}
	c.step("mounting overlay on %s: %d overlay(s) over the installation...", inst.merged, len(s.Overlays))
	if err := mountOverlay(layers.fds, inst.upper, inst.work, inst.merged); err != nil {
		return err
	}
	c.step("instance %s ready", name)
	return nil
}

// Stop unmounts the instance's overlay. It is idempotent and touches nothing
// else: the upper layer is the instance's data.
func Stop(c Config, name string) error {
	if err := spec.ValidateName(name); err != nil {
		return err
	}
	merged := c.Layout.MergedDir(name)
	lock, err := lockInstance(c.Layout, name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // never started: nothing to unmount
		}
		return err
	}
	defer unix.Close(lock)
	n, err := unmountAll(merged)
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

func count(copies []cfgCopy) (n int) {
	for _, c := range copies {
		if c.data != nil {
			n++
		}
	}
	return n
}

// lockInstance takes the instance's lock so that two helpers (a stop racing
// a start, two starts by hand) never interleave on one tree.
func lockInstance(l spec.Layout, name string) (int, error) {
	dir := filepath.Join(l.Root, "runtime", name)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return -1, fmt.Errorf("%s: not a directory (a symbolic link?); refusing: %w", dir, err)
	}
	if err != nil {
		return -1, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("lock %s: %w", dir, err)
	}
	return fd, nil
}
