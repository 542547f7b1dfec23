package versions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// Stage is a version being built in installations/.staging-XXXX/.
//
// With a base (the current version), steamcmd installs into an overlayfs
// whose only lower layer is the base and whose upper layer is Upper. The
// kernel never writes to a lower layer: a file that steamcmd rewrites in
// place (open O_TRUNC on an existing path) is first copied up into Upper,
// a deleted one becomes a whiteout there. So the base, which running
// servers keep using, is unchanged whatever steamcmd does, and a failed
// run leaves it exactly as it was. Finish then turns Upper into a
// standalone tree: every file of the base that steamcmd did not touch is
// hard-linked in (no copy of unchanged data), whiteouts and overlay
// attributes are removed. Versions share those inodes, which is safe
// because a complete version is never written again: updates go through a
// new overlay, servers see versions only as read-only lower layers, and
// gc only unlinks.
//
// Without a base (a first install) steamcmd writes straight into Upper.
type Stage struct {
	store   Store
	Dir     string // installations/.staging-XXXX (0700)
	Upper   string // the new version's tree
	Target  string // where steamcmd installs: the overlay, or Upper
	base    string
	mounted bool
}

// overlayOptions make the staging overlay write plain data: no metacopy
// (a chmod copies the data up too), no redirects (renaming a directory of
// the base fails with EXDEV and steamcmd copies instead), no index.
const overlayOptions = "redirect_dir=off,metacopy=off,index=off"

// NewStage prepares a staging directory over base ("" for none).
func (s Store) NewStage(base string) (*Stage, error) {
	if err := os.Mkdir(s.Dir(), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create %s: %w", s.Dir(), err)
	}
	dir, err := os.MkdirTemp(s.Dir(), stagingPrefix)
	if err != nil {
		return nil, fmt.Errorf("staging directory in %s: %w", s.Dir(), err)
	}
	st := &Stage{store: s, Dir: dir, Upper: filepath.Join(dir, "upper"), base: base}
	st.Target = st.Upper
	if err := os.Mkdir(st.Upper, 0o755); err != nil {
		st.Abort()
		return nil, fmt.Errorf("create %s: %w", st.Upper, err)
	}
	if err := os.Chmod(st.Upper, 0o755); err != nil { // umask
		st.Abort()
		return nil, fmt.Errorf("chmod %s: %w", st.Upper, err)
	}
	if base == "" {
		return st, nil
	}
	if err := st.mount(); err != nil {
		st.Abort()
		return nil, err
	}
	return st, nil
}

func (st *Stage) mount() error {
	work, merged := filepath.Join(st.Dir, "work"), filepath.Join(st.Dir, "merged")
	for _, d := range []string{work, merged} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	// The base is handed over as an fd, like prestart does, so the overlay
	// is built on exactly the directory resolved here even if
	// `installation` is switched meanwhile.
	fd, err := unix.Open(st.base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the base version %s: %w", st.base, err)
	}
	defer unix.Close(fd)
	opts := "lowerdir=/proc/self/fd/" + strconv.Itoa(fd) + ",upperdir=" + filepath.Join(st.Dir, "upper") + ",workdir=" + work + "," + overlayOptions
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount the staging overlay on %s over %s: %w", merged, st.base, err)
	}
	st.mounted, st.Target = true, merged
	return nil
}

// Finish unmounts the overlay and makes Upper a complete, standalone
// tree. After it, Upper may be validated and then published.
func (st *Stage) Finish() error {
	if err := st.unmount(); err != nil {
		return err
	}
	st.Target = st.Upper
	if st.base == "" {
		return nil
	}
	return fill(st.base, st.Upper)
}

func (st *Stage) unmount() error {
	if !st.mounted {
		return nil
	}
	if err := unmountAll(filepath.Join(st.Dir, "merged")); err != nil {
		return err
	}
	st.mounted = false
	return nil
}

// Publish writes the version marker, flushes the filesystem and moves
// Upper to installations/ID. It does not make it current (Store.Switch).
func (st *Stage) Publish(id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("invalid version id %q", id)
	}
	marker := filepath.Join(st.Upper, Marker)
	// Linked in from the base by fill: a version's marker must be its own.
	if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("remove %s: %w", marker, err)
	}
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		_, err = f.WriteString(id + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return "", fmt.Errorf("write %s: %w", marker, err)
	}
	// Everything steamcmd wrote reaches the disk before any link names it.
	if err := fsat.SyncFS(st.Upper); err != nil {
		return "", err
	}
	dst := st.store.Path(id)
	if err := os.Rename(st.Upper, dst); err != nil {
		return "", fmt.Errorf("move %s to %s: %w", st.Upper, dst, err)
	}
	if err := fsat.SyncDir(st.store.Dir()); err != nil {
		return "", err
	}
	if err := fsat.RemoveTree(st.Dir, fsat.RemoveOptions{}); err != nil {
		return dst, err
	}
	return dst, nil
}

// Abort unmounts and removes everything the stage made. The base and the
// current installation are never touched.
func (st *Stage) Abort() error {
	return errors.Join(st.unmount(), fsat.RemoveTree(st.Dir, fsat.RemoveOptions{}))
}
