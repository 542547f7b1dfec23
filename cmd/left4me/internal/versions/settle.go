package versions

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/fsat"
)

// Writer is the user steamcmd runs as: not root. Valve's and LinuxGSM's
// advice is a user of its own (LinuxGSM refuses root); here it also
// keeps a download that fills the disk out of the blocks ext4 holds back
// for root (5 % by default), which journald, dpkg and the helpers need.
//
// What changes for the stage:
//   - Dir becomes root's with the writer's group, 0710, so the writer can
//     reach Upper or the overlay but list or rename nothing in Dir;
//   - Upper is the writer's while steamcmd runs;
//   - the overlay's only lower layer, the base, is an idmapped clone in
//     which root's files appear to be the writer's: steamcmd rewrites a
//     file in place (open O_TRUNC), which the writer could not do to a
//     root-owned 0644 file. The base itself stays root's and unchanged;
//   - the overlay writes as the writer (prestart.MountWriter), so a copy-up
//     stops where the writer's own writes stop;
//   - Finish gives everything back to root (settle) before any base file
//     is linked in.
type Writer struct{ UID, GID int }

// admit lets the writer reach the stage: dir root's with its group, 0710;
// upper its own.
func (w *Writer) admit(dir, upper string) error {
	if err := unix.Lchown(dir, 0, w.GID); err != nil {
		return fmt.Errorf("chown %s: %w", dir, err)
	}
	if err := unix.Chmod(dir, 0o710); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	if err := unix.Lchown(upper, w.UID, w.GID); err != nil {
		return fmt.Errorf("chown %s: %w", upper, err)
	}
	return nil
}

// mount mounts the staging overlay over the base (fd base) for the writer.
func (w *Writer) mount(base int, baseName, dir, merged string) error {
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for _, p := range []string{dir, filepath.Join(dir, "upper"), filepath.Join(dir, "work")} {
		fd, err := unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		fds = append(fds, fd)
	}
	err := prestart.MountWriter([]int{base}, []string{baseName}, fds[1], fds[2], merged, w.UID, w.GID, fds[0], dir, overlayOptions, func(string, ...any) {})
	if err != nil {
		return fmt.Errorf("mount the staging overlay on %s over %s: %w", merged, baseName, err)
	}
	return nil
}

// settle gives what the writer left in upper back to root, as a version
// must be: the writer's uid and gid become root's (chown also drops file
// capabilities: notify_change, ATTR_KILL_PRIV, fs/attr.c), and no mode
// bit beyond narrowed is kept. steamcmd is
// dead by now (its PID namespace ended with it); the walk follows no
// link whatever another process of the writer's does meanwhile.
// Anything an installer never writes is refused, naming it: a device
// node, FIFO or socket (a FIFO would block a server opening it), or a
// hard link (the writer could have linked in a file of its own from
// elsewhere, which the chown would hand to root); the overlay's
// whiteouts (character devices 0:0) are fill's to remove.
func (w *Writer) settle(upper string, overlay bool) error {
	return fsat.Walk(upper, func(e fsat.Entry) error {
		st := e.Stat
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			if !overlay || st.Rdev != 0 {
				return fmt.Errorf("%s: steamcmd left a device node; refusing to build a version from it", e.Path)
			}
		case unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
			return fmt.Errorf("%s: steamcmd left a %s; refusing to build a version from it", e.Path, fsat.TypeName(st.Mode))
		case unix.S_IFREG:
			if st.Nlink > 1 {
				return fmt.Errorf("%s: steamcmd left a hard link (%d names); refusing to build a version from it", e.Path, st.Nlink)
			}
		}
		uid, gid := -1, -1
		if int(st.Uid) == w.UID {
			uid = 0
		}
		if int(st.Gid) == w.GID {
			gid = 0
		}
		if uid != -1 || gid != -1 {
			name, flags := e.At(unix.AT_SYMLINK_NOFOLLOW)
			if err := unix.Fchownat(e.Dir, name, uid, gid, flags); err != nil {
				return fmt.Errorf("chown %s: %w", e.Path, err)
			}
		}
		t := st.Mode & unix.S_IFMT
		if (t == unix.S_IFREG || t == unix.S_IFDIR) && st.Mode&^(unix.S_IFMT|narrowed) != 0 {
			return narrow(e)
		}
		return nil
	})
}

// narrowed is the mode bits a version keeps: no set-user-ID, set-group-ID
// or sticky bit, nobody but the owner writes (a directory left 0777 would
// let any user of the host write into the installation every server
// runs).
const narrowed = 0o755

// narrow clears every mode bit beyond narrowed, through a descriptor of
// the entry itself (fchmodat cannot refuse to follow a link on every
// kernel).
func narrow(e fsat.Entry) error {
	name, _ := e.At(0)
	fd := e.Dir
	if name != "" {
		var err error
		fd, err = unix.Openat(e.Dir, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", e.Path, err)
		}
		defer unix.Close(fd)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", e.Path, err)
	}
	if st.Mode&unix.S_IFMT != e.Stat.Mode&unix.S_IFMT {
		return fmt.Errorf("%s changed while it was settled", e.Path)
	}
	if err := unix.Fchmod(fd, st.Mode&narrowed); err != nil {
		return fmt.Errorf("chmod %s: %w", e.Path, err)
	}
	return nil
}
