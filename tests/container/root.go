package container

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// checkStateDir rejects state dirs the container could not use: the
// project mounts overlays with their upper dir inside StateMount, and
// overlayfs refuses an upper dir that is itself on overlayfs.
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

// mountRoot mounts a tmpfs and on it a writable overlay of lower (the
// host's / unless Options.Lower names another tree). The upper dir must
// not be on lower itself (overlayfs rejects overlapping layers), hence
// the tmpfs; it also makes every container start from a pristine copy
// and vanish on unmount. Unless the caller gave one, it
// also holds the state directory, which overlays inside the container
// need on a real filesystem (not overlayfs), so one unmount takes
// everything away.
func (c *Container) mountRoot(prefix, lower string) error {
	base, err := os.MkdirTemp("", prefix)
	if err != nil {
		return err
	}
	if err := unix.Mount(c.Name, base, "tmpfs", 0, "mode=0755"); err != nil {
		os.Remove(base)
		return fmt.Errorf("tmpfs on %s: %w", base, err)
	}
	c.base = base
	c.console = filepath.Join(base, "console.log")
	upper, work, root := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "root")
	dirs := []string{upper, work, root}
	if c.State == "" {
		c.State = filepath.Join(base, "state")
		dirs = append(dirs, c.State)
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount(c.Name, root, "overlay", 0, opts); err != nil {
		return fmt.Errorf("overlay on %s (%s): %w", root, opts, err)
	}
	c.Root = root
	return nil
}

// masked units would otherwise be started by something other than an
// enablement link: gettys (nobody logs in), the sysv generator (the host's
// /etc/rc?.d links) and logind (the slowest unit of the boot).
var masked = []string{
	"system/systemd-logind.service",
	"system/console-getty.service",
	"system/container-getty@.service",
	"system/getty@.service",
	"system/serial-getty@.service",
	"system-generators/systemd-sysv-generator",
}

// prepareRoot turns the copy of the host's root into a quiet, fast
// container: none of the host's enabled services, no fstab, its own
// hostname and machine id.
func prepareRoot(root, hostname string) error {
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
	if err := os.WriteFile(filepath.Join(root, "etc/fstab"), []byte("# left4me container: no mounts\n"), 0o644); err != nil {
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

// probeOverlay mounts an overlay with lowerdir=/ the way Boot does;
// finding "overlay" in /proc/filesystems would miss an unsuitable /.
func probeOverlay(prefix string) error {
	dir, err := os.MkdirTemp("", prefix+"probe-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	tag := fmt.Sprintf("%s%d", prefix, os.Getpid())
	if err := unix.Mount(tag, dir, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	for _, d := range []string{"u", "w", "m"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	opts := fmt.Sprintf("lowerdir=/,upperdir=%s/u,workdir=%s/w", dir, dir)
	if err := unix.Mount(tag, filepath.Join(dir, "m"), "overlay", 0, opts); err != nil {
		return err
	}
	return unix.Unmount(filepath.Join(dir, "m"), 0)
}
