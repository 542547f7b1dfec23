package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// walker writes the upper layer to the archive, a directory at a time,
// each directory's names in groups (group.go); here are the entries
// themselves: directories, links, whiteouts and regular files.
type walker struct {
	tw  *tar.Writer
	raw io.Writer // below tw: a sparse entry's blocks are made here
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
		if w.o.stopped() { // small files may write nothing to the file for long
			return context.Canceled
		}
		if err := w.group(fd, rel, group(n), depth, written); err != nil {
			return err
		}
	}
	return nil
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

// entry adds one entry (b is its stat before) to the archive; a regular
// file's copy is returned, to be checked.
func (w *walker) entry(dir int, name, rel string, b stamp, depth int) (*fileCopy, error) {
	switch b.typ {
	case unix.S_IFDIR:
		return nil, w.subdir(dir, name, rel, b, depth)
	case unix.S_IFREG:
		return w.file(dir, name, rel, b)
	}
	return nil, w.special(dir, name, rel, b)
}

// special adds a link or a whiteout; anything else is skipped.
func (w *walker) special(dir int, name, rel string, b stamp) error {
	switch b.typ {
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

// fileCopy is one regular file being copied: the first before.size
// bytes (a file may grow meanwhile), as segs, the data between its holes.
type fileCopy struct {
	rel    string
	before stamp
	st     unix.Stat_t
	f      *os.File
	segs   []segment
	data   []byte // the segments' data, when copied into memory
	sum    [sha256.Size]byte
}

// cost is what the copy adds to the archive: the data, and the map of a
// sparse file.
func (c *fileCopy) cost() int64 {
	if dense(c.segs, c.before.size) {
		return c.before.size
	}
	return int64(len(sparseMap(c.segs, c.before.size))) + stored(c.segs)
}

// open opens a regular file to copy (b is its stat before) and maps its
// data. used is what its group took so far: the file must fit in what
// the backup may still hold (-1: not counted, a second read).
func (w *walker) open(dir int, name, rel string, b stamp, used int64) (*fileCopy, error) {
	fd, err := openFile(dir, name)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EXDEV) {
		return nil, fmt.Errorf("%s: %w (%v)", w.where(rel), ErrChanged, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", w.where(rel), err)
	}
	c := &fileCopy{rel: rel, f: os.NewFile(uintptr(fd), w.where(rel))} // read errors name it
	if err := unix.Fstat(fd, &c.st); err != nil {
		c.f.Close()
		return nil, fmt.Errorf("stat %s: %w", w.where(rel), err)
	}
	if int64(c.st.Ino) != b.ino || c.st.Mode&unix.S_IFMT != unix.S_IFREG {
		c.f.Close()
		return nil, fmt.Errorf("%s: %w (replaced)", w.where(rel), ErrChanged)
	}
	// What the file holds from now on is copied: a write since b (the
	// group's first stat) is in it, and a change of the group is
	// checked against b.
	c.before = stampOf(&c.st)
	b = c.before
	if c.segs, err = extents(fd, b.size); err != nil {
		c.f.Close()
		return nil, w.copyErr(rel, err)
	}
	if used >= 0 && w.res.Bytes+used+c.cost() > w.o.MaxBytes {
		c.f.Close()
		return nil, fmt.Errorf("%s: the upper layer holds more than %d bytes of data (at %s); refusing a backup that large", w.top, w.o.MaxBytes, w.where(rel))
	}
	if used >= 0 && w.res.Length+b.size > w.o.MaxLength {
		c.f.Close()
		return nil, fmt.Errorf("%s: the upper layer's files are longer than %d bytes together, holes of sparse files included (at %s, %d bytes long, %d of them data); refusing: a restore reads every hole back as zeros, which would take too long (truncate or remove that file)", w.top, w.o.MaxLength, w.where(rel), b.size, stored(c.segs))
	}
	return c, nil
}

func (w *walker) copyErr(rel string, err error) error {
	if errors.Is(err, ErrChanged) {
		return fmt.Errorf("%s: %w", w.where(rel), err)
	}
	return fmt.Errorf("copy %s: %w", w.where(rel), err)
}

// file copies a regular file straight into the archive.
func (w *walker) file(dir int, name, rel string, b stamp) (*fileCopy, error) {
	c, err := w.open(dir, name, rel, b, 0)
	if err != nil {
		return nil, err
	}
	defer c.f.Close()
	err = w.writeFile(c, func(out io.Writer) (err error) {
		c.sum, err = readSegs(c.f, c.segs, out)
		return err
	})
	w.copied(rel)
	return c, err
}

// copied calls Options.Changed (tests: a writer racing the backup).
func (w *walker) copied(rel string) {
	if w.o.Changed != nil {
		w.o.Changed(rel)
	}
}

// writeFile writes c's entry, its data written to the archive by data:
// a plain entry, or a sparse one when the file has holes.
func (w *walker) writeFile(c *fileCopy, data func(io.Writer) error) error {
	h := w.header(&c.st, c.rel, tar.TypeReg)
	h.Size = c.before.size // a file that grew since: what it held then
	var err error
	if dense(c.segs, h.Size) {
		if err = w.write(h, c.rel); err == nil {
			err = data(w.tw)
		}
	} else {
		err = w.writeSparse(h, c.segs, data)
	}
	if err != nil {
		return w.copyErr(c.rel, err)
	}
	w.res.Files++
	w.res.Bytes += c.cost()
	w.res.Length += c.before.size
	return nil
}

// readSegs copies segs of f to out and returns a digest of the map and
// the data, to tell later whether f still holds them.
func readSegs(f *os.File, segs []segment, out io.Writer) (sum [sha256.Size]byte, err error) {
	h := segsHash(segs)
	err = copySegs(f, segs, io.MultiWriter(out, h))
	return [sha256.Size]byte(h.Sum(nil)), err
}

// segsHash is a digest begun with the map of segs.
func segsHash(segs []segment) hash.Hash {
	h := sha256.New()
	for _, s := range segs {
		binary.Write(h, binary.LittleEndian, [2]int64{s.off, s.n})
	}
	return h
}

// copySegs copies segs of f to to.
func copySegs(f *os.File, segs []segment, to io.Writer) error {
	for _, s := range segs {
		n, err := io.Copy(to, io.NewSectionReader(f, s.off, s.n))
		if err != nil {
			return err
		}
		if n < s.n {
			return fmt.Errorf("%w (truncated)", ErrChanged)
		}
	}
	return nil
}
