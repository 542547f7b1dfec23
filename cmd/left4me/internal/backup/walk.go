package backup

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

type walker struct {
	tw  *tar.Writer
	top string
	dev uint64
	o   Options
	res *Result
}

// stamp is what tells a file changed.
type stamp struct {
	ino, size    int64
	mtime, ctime unix.Timespec
	exists       bool
	typ          uint32
}

func stampOf(st *unix.Stat_t) stamp {
	return stamp{ino: int64(st.Ino), size: st.Size, mtime: st.Mtim, ctime: st.Ctim, exists: true, typ: st.Mode & unix.S_IFMT}
}

// where is rel below the upper layer for a message, quoted when it holds
// more than printable text (fsat.Child): the names are the server's.
func (w *walker) where(rel string) string { return fsat.Child(w.top, rel) }

// sqliteSide are the files SQLite keeps beside a database
// (sqlite.org/tempfiles.html: rollback journal, write-ahead log, shm).
var sqliteSide = []string{"-journal", "-wal", "-shm"}

// group is the names copied and checked as one with name: a SQLite
// database and its side files (present or not: one that appears or goes
// during the copy is a change). A side file is copied with its database
// only; every other name, also one that looks like a side file (x-journal
// without x, x-journal-journal beside x-journal), is a group of its own.
func group(name string) []string {
	members := []string{name}
	for _, s := range sqliteSide {
		members = append(members, name+s)
	}
	return members
}

func (w *walker) dir(fd int, rel string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: more than %d directories deep; refusing to back it up", w.where(rel), maxDepth)
	}
	names, err := readNames(fd)
	if err != nil {
		return fmt.Errorf("read %s: %w", w.where(rel), err)
	}
	// written are the names of this directory in the archive already (a
	// database's side files): every other name is written on its own, so
	// none is ever left out.
	written := map[string]bool{}
	for _, n := range names { // sorted: a database before its side files
		if written[n] {
			continue
		}
		members := group(n)
		before := make([]stamp, len(members))
		for i, m := range members {
			if before[i], err = w.lstat(fd, m, rel, i > 0); err != nil {
				return err
			}
		}
		if !before[0].exists {
			continue // gone since the listing: it was not there to keep
		}
		for i, m := range members {
			if !before[i].exists {
				continue
			}
			if err := w.entry(fd, m, join(rel, m), before[i], depth); err != nil {
				return err
			}
			written[m] = true
		}
		for i, m := range members {
			after, err := w.lstat(fd, m, rel, i > 0)
			if err != nil {
				return err
			}
			b := before[i]
			if b.typ == unix.S_IFDIR && after.typ == unix.S_IFDIR && b.ino == after.ino {
				continue // its content was checked below it
			}
			if after != b && !(b.exists && grewLog(m, b, after)) {
				return fmt.Errorf("%s: %w", w.where(join(rel, m)), ErrChanged)
			}
		}
	}
	return nil
}

// grewLog: a log that only grew (same file, longer) during the copy,
// whose copy holds what it had when the copy began.
func grewLog(name string, b, a stamp) bool {
	return strings.HasSuffix(name, ".log") && a.exists && a.typ == unix.S_IFREG && a.ino == b.ino && a.size >= b.size
}

func join(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}

// lstat stats name in fd, a stamp that does not exist if it is not there.
// A side file's name (side) is longer than the name it is made from: too
// long for a name (ENAMETOOLONG), it cannot be there.
func (w *walker) lstat(fd int, name, rel string, side bool) (stamp, error) {
	var st unix.Stat_t
	err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) || side && errors.Is(err, unix.ENAMETOOLONG) {
		return stamp{}, nil
	}
	if err != nil {
		return stamp{}, fmt.Errorf("stat %s: %w", w.where(join(rel, name)), err)
	}
	return stampOf(&st), nil
}

func (w *walker) header(st *unix.Stat_t, rel string, typ byte) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     rel,
		Mode:     int64(st.Mode & 0o1777), // setuid and setgid are not kept
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		ModTime:  time.Unix(st.Mtim.Unix()),
		Format:   tar.FormatPAX,
	}
}

// entry adds one entry (b is its stat before) to the archive.
func (w *walker) entry(dir int, name, rel string, b stamp, depth int) error {
	switch b.typ {
	case unix.S_IFDIR:
		return w.subdir(dir, name, rel, b, depth)
	case unix.S_IFREG:
		return w.file(dir, name, rel, b)
	case unix.S_IFLNK:
		var st unix.Stat_t
		if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %s: %w", w.where(rel), err)
		}
		buf := make([]byte, 4096)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return fmt.Errorf("read link %s: %w", w.where(rel), err)
		}
		h := w.header(&st, rel, tar.TypeSymlink)
		h.Linkname = string(buf[:n])
		return w.write(h, rel)
	case unix.S_IFCHR:
		var st unix.Stat_t
		if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %s: %w", w.where(rel), err)
		}
		if st.Rdev == 0 { // an overlayfs whiteout: a file deleted from below
			return w.write(w.header(&st, rel, tar.TypeChar), rel)
		}
	}
	w.res.Skipped = append(w.res.Skipped, rel)
	return nil
}

func (w *walker) write(h *tar.Header, rel string) error {
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("archive %s: %w", w.where(rel), err)
	}
	return nil
}

func (w *walker) subdir(dir int, name, rel string, b stamp, depth int) error {
	var stx unix.Statx_t
	if err := unix.Statx(dir, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_INO, &stx); err != nil {
		return fmt.Errorf("stat %s: %w", w.where(rel), err)
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0 || unix.Mkdev(stx.Dev_major, stx.Dev_minor) != w.dev {
		return fmt.Errorf("%s: a mount point inside the upper layer; refusing to back it up (umount it first)", w.where(rel))
	}
	fd, err := openDir(dir, name)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("%s: %w (%v)", w.where(rel), ErrChanged, err)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", w.where(rel), err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", w.where(rel), err)
	}
	if int64(st.Ino) != b.ino {
		return fmt.Errorf("%s: %w (replaced)", w.where(rel), ErrChanged)
	}
	h := w.header(&st, rel+"/", tar.TypeDir)
	buf := make([]byte, 8)
	if n, err := unix.Fgetxattr(fd, opaqueXattr, buf); err == nil {
		h.PAXRecords = map[string]string{paxXattr + opaqueXattr: string(buf[:n])}
	}
	if err := w.write(h, rel); err != nil {
		return err
	}
	return w.dir(fd, rel, depth+1)
}

func (w *walker) file(dir int, name, rel string, b stamp) error {
	if w.o.Changed != nil {
		w.o.Changed(rel)
	}
	fd, err := openFile(dir, name)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("%s: %w (%v)", w.where(rel), ErrChanged, err)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", w.where(rel), err)
	}
	f := os.NewFile(uintptr(fd), w.where(rel)) // read errors name it
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", w.where(rel), err)
	}
	if int64(st.Ino) != b.ino || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: %w (replaced)", w.where(rel), ErrChanged)
	}
	size := b.size // a log that grew since: what it held then
	if w.res.Bytes+size > w.o.MaxBytes {
		return fmt.Errorf("%s: the upper layer holds more than %d bytes (at %s); refusing a backup that large", w.top, w.o.MaxBytes, w.where(rel))
	}
	h := w.header(&st, rel, tar.TypeReg)
	h.Size = size
	if err := w.write(h, rel); err != nil {
		return err
	}
	n, err := io.Copy(w.tw, io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("copy %s: %w", w.where(rel), err)
	}
	if n < size {
		return fmt.Errorf("%s: %w (truncated)", w.where(rel), ErrChanged)
	}
	w.res.Files++
	w.res.Bytes += size
	return nil
}
