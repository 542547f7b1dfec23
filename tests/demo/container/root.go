package container

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// mountRoot mounts a tmpfs and on it a writable overlay of the host's /.
// The upper dir must not be on / itself (overlayfs rejects overlapping
// layers), hence the tmpfs; it also holds the state directory, which
// overlays inside the container need on a real filesystem (not overlayfs),
// so one unmount takes everything away.
func (c *Container) mountRoot() error {
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
	upper, work, root, state := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "root"), filepath.Join(base, "state")
	for _, d := range []string{upper, work, root, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	c.State = state
	opts := "lowerdir=/,upperdir=" + upper + ",workdir=" + work
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
	if err := os.WriteFile(filepath.Join(root, "etc/fstab"), []byte("# left4me demo container: no mounts\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	id := make([]byte, 16)
	rand.Read(id)
	mid := filepath.Join(root, "etc/machine-id")
	os.Remove(mid)
	return os.WriteFile(mid, []byte(hex.EncodeToString(id)+"\n"), 0o444)
}

// probeOverlay mounts an overlay with lowerdir=/ the way Boot does;
// finding "overlay" in /proc/filesystems would miss an unsuitable /.
func probeOverlay() error {
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
