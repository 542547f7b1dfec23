package prestart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

// instance holds the open directories of runtime/NAME while a start runs.
type instance struct {
	lock, upper, work int
	merged            string
}

func (i *instance) close() { fsat.CloseAll(i.upper, i.work, i.lock) }

// openInstance creates runtime/NAME/{upper,work,merged} as needed. runtime/
// and runtime/NAME belong to root and are not writable by the server, so the
// server can rename nothing there; upper belongs to the server. runtime/NAME
// is root's alone (0700): no other server, and no local user, can reach an
// instance's upper layer, staged cfgs or dumps (the server itself reaches
// its merged tree and dumps through the unit's bind mounts).
func openInstance(c Config, name string) (*instance, error) {
	inst := &instance{lock: -1, upper: -1, work: -1, merged: c.Layout.MergedDir(name)}
	rootfd, err := unix.Open(c.Layout.Root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("state root %s: %w", c.Layout.Root, err)
	}
	defer unix.Close(rootfd)
	rt, _, err := fsat.EnsureDir(rootfd, filepath.Base(c.Layout.RuntimeRoot()), 0o755, c.Layout.RuntimeRoot())
	if err != nil {
		return nil, err
	}
	defer unix.Close(rt)
	what := c.Layout.RuntimeDir(name)
	dir, _, err := fsat.EnsureDir(rt, name, 0o700, what)
	if err != nil {
		return nil, err
	}
	inst.lock = dir
	if err := checkRootOwned(dir, what); err != nil {
		inst.close()
		return nil, err
	}
	if err := unix.Fchmod(dir, 0o700); err != nil { // made 0755 by earlier versions
		inst.close()
		return nil, fmt.Errorf("chmod %s: %w", what, err)
	}
	if err := layout.LockFDWait(dir, what, c.waiting); err != nil {
		inst.close()
		return nil, err
	}
	var created bool
	if inst.upper, created, err = fsat.EnsureDir(dir, layout.Upper, 0o755, what+"/"+layout.Upper); err == nil && created {
		err = unix.Fchown(inst.upper, c.UID, c.GID)
	} else if err == nil {
		err = adoptUpper(c, inst.upper, what+"/"+layout.Upper)
	}
	if err == nil {
		inst.work, _, err = fsat.EnsureDir(dir, layout.Work, 0o700, what+"/"+layout.Work)
	}
	if err == nil {
		err = ensureMountPoint(dir, layout.Merged, what+"/"+layout.Merged)
	}
	if err == nil {
		err = ensureDumps(c, dir, what+"/"+layout.Dumps)
	}
	if err != nil {
		inst.close()
		return nil, err
	}
	return inst, nil
}

// adoptUpper gives the upper layer (or the dumps) to the server's current
// user when it belongs to the instance's earlier one (see adopt). One that
// belongs to root is left alone, with a warning: ownership of the
// operator's data is not ours to change.
func adoptUpper(c Config, fd int, what string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", what, err)
	}
	if int(st.Uid) == c.UID && int(st.Gid) == c.GID {
		return nil
	}
	if st.Uid == 0 {
		c.step("warning: %s belongs to root, not the server's user (uid %d); the server may fail to write there: chown -R %d:%d %s",
			what, c.UID, c.UID, c.GID, what)
		return nil
	}
	n, err := adopt(fd, what, [2]int{int(st.Uid), int(st.Gid)}, [2]int{c.UID, c.GID})
	if err != nil {
		return err
	}
	c.step("%s belonged to uid %d (this instance's earlier user); gave its %d entries to uid %d", what, st.Uid, n, c.UID)
	return nil
}

// ensureMountPoint makes the merged directory. It is not opened: a leftover
// mount on it is another filesystem, which the strict resolution refuses.
func ensureMountPoint(dir int, name, what string) error {
	if err := unix.Mkdirat(dir, name, 0o755); err != nil && err != unix.EEXIST {
		return fmt.Errorf("create %s: %w", what, err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat %s: %w", what, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s: not a directory; refusing to mount on it", what)
	}
	return nil
}

// checkRootOwned refuses an instance directory that someone else could
// rewrite: everything the helpers do by path below it relies on that.
func checkRootOwned(fd int, what string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", what, err)
	}
	if st.Uid != 0 || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s: owned by uid %d with mode %o; it must belong to root and not be group/world-writable", what, st.Uid, st.Mode&0o777)
	}
	return nil
}

// layers holds the open lower directories, top first, installation last.
type layers struct {
	root  string
	fds   []int
	names []string // for messages, as fds
	ovfd  []int    // overlay directories, in spec order (same fds as fds[:n])
}

func (l *layers) close() { fsat.CloseAll(l.fds...) }

// openLayers opens every overlay below overlays/ without following any link,
// and the installation, which may be a relative link inside the state root
// (a versioned installation switched by rename).
func openLayers(root string, overlays []startplan.Overlay) (*layers, error) {
	rootfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("state root %s: %w", root, err)
	}
	defer unix.Close(rootfd)
	l := &layers{root: root}
	if len(overlays) > 0 {
		ov, err := fsat.OpenBeneath(rootfd, layout.OverlaysName, unix.O_PATH|unix.O_DIRECTORY, fsat.ResolveStrict, filepath.Join(root, layout.OverlaysName))
		if err != nil {
			return nil, err
		}
		defer unix.Close(ov)
		for i, o := range overlays {
			what := filepath.Join(root, layout.OverlaysName, o.Path)
			fd, err := fsat.OpenBeneath(ov, o.Path, unix.O_PATH|unix.O_DIRECTORY, fsat.ResolveStrict, what)
			if err != nil {
				l.close()
				return nil, &LayerError{Index: i, Err: err}
			}
			l.fds = append(l.fds, fd)
			l.names = append(l.names, what)
		}
		l.ovfd = l.fds[:len(l.fds):len(l.fds)]
	}
	inst := filepath.Join(root, layout.InstallationLink)
	fd, err := fsat.OpenBeneath(rootfd, layout.InstallationLink, unix.O_PATH|unix.O_DIRECTORY, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_MAGICLINKS, inst)
	if err != nil {
		l.close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist: install it with `left4me game install`", ErrNoGame, inst)
		}
		return nil, fmt.Errorf("game installation: %w", err)
	}
	l.fds = append(l.fds, fd)
	l.names = append(l.names, inst)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, "srcds_linux", &st, 0); err != nil {
		l.close()
		return nil, fmt.Errorf("game installation %s has no srcds_linux (%w): install the game first (app 222860)", inst, err)
	}
	return l, nil
}

// readCfgs reads the server.cfg of each aliased overlay.
func (l *layers) readCfgs(overlays []startplan.Overlay, uid, gid int) ([]cfgCopy, error) {
	var out []cfgCopy
	for i, o := range overlays {
		if o.Alias == "" {
			continue
		}
		data, err := readOverlayCfg(l.ovfd[i], filepath.Join(l.root, layout.OverlaysName, o.Path), uid, gid)
		if err != nil {
			return nil, err
		}
		out = append(out, cfgCopy{alias: o.Alias, data: data})
	}
	return out, nil
}

func recordInstallation(dir int, dirPath, root string, instfd int) error {
	target, err := os.Readlink(fdPath(instfd))
	if err != nil {
		return fmt.Errorf("resolve installation: %w", err)
	}
	rel, err := filepath.Rel(root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		rel = layout.InstallationLink
	}
	// layout.Record: what `left4me game status|gc` read to tell which
	// version a running server reads.
	if err := unix.Unlinkat(dir, layout.Record, 0); err != nil && err != unix.ENOENT {
		return fmt.Errorf("record installation: %w", err)
	}
	return writeNew(dir, layout.Record, []byte(rel+"\n"), 0, 0, dirPath)
}

// recordPorts writes layout.Ports in the open runtime/NAME (root's) by a
// rename: the port set this start gives the server, which it holds
// against every spec while its overlay is mounted (spec.ClaimPorts). A
// plan without ports (from an older generator) leaves none.
func recordPorts(dir int, dirPath string, ports []startplan.Port) error {
	if len(ports) == 0 {
		if err := unix.Unlinkat(dir, layout.Ports, 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("record ports in %s: %w", dirPath, err)
		}
		return nil
	}
	return replaceAt(dir, layout.Ports, startplan.FormatPorts(ports), dirPath)
}

// recordCeiling writes layout.Ceiling in the open runtime/NAME (root's)
// by a rename: the disk ceiling this start gives the server, which the
// disk timer holds it to until its next start.
func recordCeiling(dir int, dirPath string, disk int64) error {
	return replaceAt(dir, layout.Ceiling, []byte(strconv.FormatInt(disk, 10)+"\n"), dirPath)
}

// LayerError is a problem with overlays[Index] of the spec, so that
// `left4me validate` can point at the spec line that names it.
type LayerError struct {
	Index int
	Err   error
}

func (e *LayerError) Error() string { return fmt.Sprintf("overlays[%d] %v", e.Index, e.Err) }
func (e *LayerError) Unwrap() error { return e.Err }
