package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var machineSeq atomic.Int64

// machineName is unique per container so that parallel containers do not
// share nspawn's per-machine state (/run/systemd/nspawn/propagate/NAME).
func machineName() string {
	return fmt.Sprintf("left4me-e2e-%d-%d", os.Getpid(), machineSeq.Add(1))
}

// mountTag is the source name of every mount the harness makes. It carries
// the test binary's PID so that sweepStale can tell mounts of a crashed
// test run from those of a concurrently running one.
func mountTag() string { return fmt.Sprintf("left4me-e2e-%d", os.Getpid()) }

// checkStateDir rejects state dirs the container could not use: the
// project mounts overlays with their upper dir inside /var/lib/left4me,
// and overlayfs refuses an upper dir that is itself on overlayfs.
func checkStateDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("state dir %s is not a directory", dir)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return fmt.Errorf("statfs state dir: %w", err)
	}
	if fs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		return fmt.Errorf("state dir %s is on overlayfs; overlays inside the container need a real filesystem (set TMPDIR)", dir)
	}
	return nil
}

// mountRoot mounts a tmpfs and on it a writable overlay of the host's /.
// The upper dir must not be on the root filesystem itself (overlayfs
// rejects overlapping layers), hence the tmpfs; it also makes every
// container start from a pristine copy and vanish on unmount.
func (c *Container) mountRoot() error {
	base, err := os.MkdirTemp("", "left4me-e2e-")
	if err != nil {
		return err
	}
	if err := unix.Mount(mountTag(), base, "tmpfs", 0, "mode=0755"); err != nil {
		os.Remove(base)
		return fmt.Errorf("tmpfs on %s: %w", base, err)
	}
	c.base = base
	c.console = filepath.Join(base, "console.log")
	upper, work, root := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "root")
	for _, d := range []string{upper, work, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	opts := "lowerdir=/,upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount(mountTag(), root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay on %s (%s): %w", root, opts, err)
	}
	c.Root = root
	return nil
}

// masked units are not merely disabled but masked because something other
// than an enablement symlink would start them: the getty generator adds
// console/container gettys (nobody logs in, and a login prompt on the
// console pty clutters the console log), the sysv generator turns the
// host's /etc/rc?.d links (postgresql here) back into enabled services,
// and logind (statically wanted by multi-user.target) is the last link of
// the boot's critical chain although nobody logs in.
var masked = []string{
	"system/systemd-logind.service",
	"system/console-getty.service",
	"system/container-getty@.service",
	"system/getty@.service",
	"system/serial-getty@.service",
	"system-generators/systemd-sysv-generator",
}

// prepareRoot turns the copy of the host's root into a quiet, fast
// container image. It runs before Install, so whatever the project
// enables stays enabled.
func prepareRoot(root, hostname string) error {
	// Units the host's admin or packages enabled (postgresql, timers for
	// apt/man-db/fstrim/e2scrub, docker, networkd-wait-online, ... on CI
	// images) are slow, fire mid-test or wait for hardware. Removing the
	// enablement links disables them all without having to know the host.
	links, err := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.wants/*"))
	if err != nil {
		return err
	}
	reqs, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.requires/*"))
	for _, l := range append(links, reqs...) {
		if st, err := os.Lstat(l); err == nil && st.Mode()&os.ModeSymlink != 0 {
			if err := os.Remove(l); err != nil {
				return err
			}
		}
	}
	for _, m := range masked {
		p := filepath.Join(root, "etc/systemd", m)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		os.Remove(p)
		if err := os.Symlink("/dev/null", p); err != nil {
			return err
		}
	}
	// The host's fstab names the host's disks; in the container those
	// mounts would wait for devices that never appear.
	if err := os.WriteFile(filepath.Join(root, "etc/fstab"), []byte("# left4me e2e container: no mounts\n"), 0o644); err != nil {
		return err
	}
	// The host's /etc/hostname would win over the machine name nspawn
	// sets; the machine name makes logs of parallel containers tellable.
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	// A fresh machine id: with the host's id nspawn refuses to link
	// journals and parallel containers would all share one identity.
	id := make([]byte, 16)
	rand.Read(id)
	mid := filepath.Join(root, "etc/machine-id")
	os.Remove(mid)
	return os.WriteFile(mid, []byte(hex.EncodeToString(id)+"\n"), 0o444)
}

// probeOverlay checks that an overlay with lowerdir=/ can be mounted,
// which is exactly what Boot does; merely finding "overlay" in
// /proc/filesystems would miss an unloaded module or an unsuitable /.
func probeOverlay() error {
	dir, err := os.MkdirTemp("", "left4me-e2e-probe-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	if err := unix.Mount(mountTag(), dir, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	for _, d := range []string{"u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=/,upperdir=%s/u,workdir=%s/w", dir, dir)
	if err := unix.Mount(mountTag(), filepath.Join(dir, "m"), "overlay", 0, opts); err != nil {
		return err
	}
	return unix.Unmount(filepath.Join(dir, "m"), 0)
}
