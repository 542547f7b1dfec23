package prestart

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// Why idmapped lower layers: overlayfs checks access against the merged
// inode's owner and mode (Documentation/filesystems/overlayfs.rst,
// "Permission model"), which for a directory or file of a lower layer are
// the lower's: root, 0755/0644. The unprivileged server could then create
// nothing in addons/sourcemod/logs, data/, cfg/sourcemod/ or any other
// directory an overlay or the installation ships, nor rewrite a cfg an
// overlay shipped. Each lower layer is therefore mounted through an
// idmapped clone (mount_setattr(2) MOUNT_ATTR_IDMAP; overlayfs accepts
// idmapped layers since Linux 5.19) in which root's files appear owned by
// the server's user. The layers on disk stay root-owned and unchanged;
// copy-up writes the server's ownership into the instance's upper layer.
// The alternative, a chown of every lower inode by metadata-only copy-up at
// each start, costs a copy-up per directory and file of a 9 GB tree.

// idmapHolder is the program a user namespace is made for: it only has to
// live until its namespace file is open (it blocks reading its stdin, a
// pipe we close). A user namespace needs a process to exist; the helpers
// are multi-threaded Go programs, which unshare(CLONE_NEWUSER) refuses.
const idmapHolder = "/bin/cat"

// maxID is the last id a uid_map extent may cover ((uid_t)-1 is invalid).
const maxID = 1<<32 - 2

// swapMap maps id 0 to id and id to 0, every other id to itself, so that
// the root-owned files of a layer appear owned by the server's user and the
// ids of a hand-made overlay's other files are kept.
func swapMap(id int) []syscall.SysProcIDMap {
	m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: id, Size: 1}}
	if id > 1 {
		m = append(m, syscall.SysProcIDMap{ContainerID: 1, HostID: 1, Size: id - 1})
	}
	m = append(m, syscall.SysProcIDMap{ContainerID: id, HostID: 0, Size: 1})
	return append(m, syscall.SysProcIDMap{ContainerID: id + 1, HostID: id + 1, Size: maxID - id})
}

// newIdmap returns a user namespace whose mapping swaps root with uid/gid.
func newIdmap(uid, gid int) (int, error) {
	cmd := exec.Command(idmapHolder)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: swapMap(uid),
		GidMappings: swapMap(gid),
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return -1, fmt.Errorf("idmap: %w", err)
	}
	if err := cmd.Start(); err != nil {
		stdin.Close()
		return -1, fmt.Errorf("idmap: create a user namespace with %s: %w", idmapHolder, err)
	}
	ns, err := unix.Open("/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	stdin.Close()
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err != nil {
		return -1, fmt.Errorf("idmap: open the user namespace: %w", err)
	}
	return ns, nil
}

// shifted holds the idmapped clones of an instance's lower layers.
type shifted struct {
	fds   []int
	paths []string // where attach mounted them
}

func (s *shifted) close() { fsat.CloseAll(s.fds...) }

// shiftLayers clones every layer as a detached, read-only, idmapped mount.
// A layer on a filesystem without idmapped mounts makes it fail with
// ErrNoIdmap, naming the layer.
func shiftLayers(lowers []int, names []string, uid, gid int, pins string) (*shifted, error) {
	ns, err := pinnedIdmap(pins, uid, gid)
	if err != nil {
		return nil, err
	}
	defer unix.Close(ns)
	s := &shifted{}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP | unix.MOUNT_ATTR_RDONLY, Userns_fd: uint64(ns)}
	for i, fd := range lowers {
		tree, err := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("clone layer %s: %w", names[i], err)
		}
		s.fds = append(s.fds, tree)
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
			s.close()
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
				return nil, fmt.Errorf("layer %s: %w (%v)", names[i], ErrNoIdmap, err)
			}
			return nil, fmt.Errorf("idmap layer %s: %w", names[i], err)
		}
	}
	return s, nil
}

// attachDir below runtime/NAME holds the idmapped layers while the overlay
// is mounted on kernels that refuse detached layers (before Linux 6.15,
// clone_private_mount() accepted only mounts of the caller's namespace).
const attachDir = layout.Layers

// attach mounts each clone on runtime/NAME/layers/I and reopens it there,
// so the overlay gets attached layers; detach removes them again once the
// overlay holds its own private clones of them.
func (s *shifted) attach(dir int, dirPath string) error {
	what := dirPath + "/" + attachDir
	lfd, _, err := fsat.EnsureDir(dir, attachDir, 0o700, what)
	if err != nil {
		return err
	}
	defer unix.Close(lfd)
	s.paths = make([]string, 0, len(s.fds))
	for i, tree := range s.fds {
		name := strconv.Itoa(i)
		p := what + "/" + name
		if err := ensureMountPoint(lfd, name, p); err != nil {
			return err
		}
		if _, err := rundir.Unmount(p); err != nil { // left by a killed helper
			return err
		}
		if err := unix.MoveMount(tree, "", lfd, name, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			return fmt.Errorf("attach layer on %s: %w", p, err)
		}
		s.paths = append(s.paths, p)
		fd, err := fsat.OpenBeneath(lfd, name, unix.O_PATH|unix.O_DIRECTORY, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS, p)
		if err != nil {
			return err
		}
		unix.Close(tree)
		s.fds[i] = fd
	}
	return nil
}

// detach lazily unmounts what attach mounted; the overlay keeps its clones.
func (s *shifted) detach() error {
	var errs []error
	for _, p := range s.paths {
		if err := unix.Unmount(p, unix.UMOUNT_NOFOLLOW|unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("detach layer %s: %w", p, err))
		}
	}
	s.paths = nil
	return errors.Join(errs...)
}

// mountLayers mounts the instance's overlay with its lower layers idmapped
// to the server's user (see the top of this file). Where the kernel or a
// filesystem cannot idmap, it mounts them as they are and says so.
func mountLayers(c Config, inst *instance, l *layers, dirPath string) error {
	sh, err := shiftLayers(l.fds, l.names, c.UID, c.GID, c.IdmapPins)
	if errors.Is(err, ErrNoIdmap) {
		c.step("warning: %v", err)
		return mountOverlay(l.fds, inst.upper, inst.work, inst.merged, c.UID, c.GID)
	}
	if err != nil {
		return err
	}
	defer sh.close()
	if !c.attachLayers {
		err = mountOverlay(sh.fds, inst.upper, inst.work, inst.merged, c.UID, c.GID)
		if !errors.Is(err, unix.EINVAL) || errors.Is(err, ErrCredentials) {
			return err
		}
	}
	if err := sh.attach(inst.lock, dirPath); err != nil {
		return errors.Join(err, sh.detach())
	}
	err = mountOverlay(sh.fds, inst.upper, inst.work, inst.merged, c.UID, c.GID)
	if derr := sh.detach(); derr != nil {
		if err != nil {
			return errors.Join(err, derr)
		}
		// The overlay is up and holds its own clones; a layer left
		// attached is tidied by the next start.
		c.step("warning: %v", derr)
	}
	return err
}
