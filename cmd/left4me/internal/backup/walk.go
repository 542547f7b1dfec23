package backup

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

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
		if err := w.group(fd, rel, group(n), depth, written); err != nil {
			return err
		}
	}
	return nil
}

// group copies members (a name and its side files) as one. A group of
// regular files small enough to hold in memory is copied there first and
// written to the archive only once it was checked, so a change costs one
// more copy of that group, after a pause that doubles each time, not
// the whole backup: a busy database (SQLite's WAL holds every commit
// until a checkpoint) has little time to change during a copy into
// memory, and a burst of writes is over after a few pauses. Copying the
// WAL through SQLite's backup API would need the server's cooperation
// (or SQLite in this program), which the upper layer cannot be trusted
// with. Anything else is written as it is copied, as before, and a
// change makes the whole backup start over.
func (w *walker) group(fd int, rel string, members []string, depth int, written map[string]bool) error {
	for try := 0; ; try++ {
		before, err := w.stamps(fd, rel, members)
		if err != nil || !before[0].exists {
			return err // gone since the listing: it was not there to keep
		}
		if !w.stageable(before) {
			return w.stream(fd, rel, members, before, depth, written)
		}
		copies, err := w.stage(fd, rel, members, before)
		if err == nil {
			err = w.check(fd, rel, members, before, copies)
		}
		if err == nil {
			return w.emit(members, copies, written)
		}
		if !errors.Is(err, ErrChanged) || try+1 >= groupAttempts || w.res.Retries >= maxRetries {
			return err
		}
		w.res.Retries++
		time.Sleep(w.o.Pause << try)
	}
}

// Bounds of copying a group again (a server that keeps changing files
// cannot make a backup take much longer): groupAttempts copies of one
// group, maxRetries more copies in all in one attempt of a backup, of
// groups of at most Options.StageMax bytes.
const (
	groupAttempts = 5
	maxRetries    = 32
)

// DefaultStageMax is Options.StageMax's default.
const DefaultStageMax int64 = 64 << 20

func (w *walker) stageMax() int64 {
	if w.o.StageMax > 0 {
		return w.o.StageMax
	}
	return DefaultStageMax
}

func (w *walker) stamps(fd int, rel string, members []string) ([]stamp, error) {
	st := make([]stamp, len(members))
	for i, m := range members {
		var err error
		if st[i], err = w.lstat(fd, m, rel, i > 0); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// stageable: the group's present members are regular files, together
// small enough to copy into memory.
func (w *walker) stageable(before []stamp) bool {
	var size int64
	for _, b := range before {
		if b.exists && b.typ != unix.S_IFREG {
			return false
		}
		size += b.size
	}
	return size <= w.stageMax()
}

// stage copies the group's files into memory.
func (w *walker) stage(fd int, rel string, members []string, before []stamp) ([]*fileCopy, error) {
	copies := make([]*fileCopy, len(members))
	var size int64
	for i, m := range members {
		if !before[i].exists {
			continue
		}
		c, err := w.open(fd, m, join(rel, m), before[i], size)
		if err != nil {
			return nil, err
		}
		if size+c.cost() > w.stageMax() { // grew since: not in memory; the next try streams it
			c.f.Close()
			return nil, fmt.Errorf("%s: %w (grew past %d bytes)", w.where(c.rel), ErrChanged, w.stageMax())
		}
		var buf bytes.Buffer
		err = copySegs(c.f, c.segs, &buf) // its digest only if needed (stillHolds)
		c.f.Close()
		if err != nil {
			return nil, w.copyErr(c.rel, err)
		}
		c.data, c.f = buf.Bytes(), nil
		size += c.cost()
		copies[i] = c
		w.copied(c.rel)
	}
	return copies, nil
}

// emit writes a checked group from memory.
func (w *walker) emit(members []string, copies []*fileCopy, written map[string]bool) error {
	for i, c := range copies {
		if c == nil {
			continue
		}
		err := w.writeFile(c, func(out io.Writer) error {
			_, err := out.Write(c.data)
			return err
		})
		if err != nil {
			return err
		}
		written[members[i]] = true
	}
	return nil
}

// stream writes the group to the archive as it copies it.
func (w *walker) stream(fd int, rel string, members []string, before []stamp, depth int, written map[string]bool) error {
	copies := make([]*fileCopy, len(members))
	for i, m := range members {
		if !before[i].exists {
			continue
		}
		c, err := w.entry(fd, m, join(rel, m), before[i], depth)
		if err != nil {
			return err
		}
		copies[i] = c
		written[m] = true
	}
	return w.check(fd, rel, members, before, copies)
}

// check: every member is as it was before its copy (a directory's
// content was checked below it), or, in a group without a SQLite side
// file, is a regular file that still holds what was copied of it
// (appended to meanwhile: a log, a demo being recorded), so the copy is
// the group at one instant. A database with a side file (a -wal taking
// commits, a -journal) must be unchanged, every member of it: its
// pages and its log change in place and together (a checkpoint writes
// the log's frames into the database, a restarted log is written over
// its old frames), so no part of it is a prefix that can be trusted;
// such a group is copied again after a pause instead (group).
func (w *walker) check(fd int, rel string, members []string, before []stamp, copies []*fileCopy) error {
	sqlite := slices.ContainsFunc(before[1:], func(s stamp) bool { return s.exists })
	for i, m := range members {
		after, err := w.lstat(fd, m, rel, i > 0)
		if err != nil {
			return err
		}
		b := before[i]
		if b.typ == unix.S_IFDIR && after.typ == unix.S_IFDIR && b.ino == after.ino {
			continue
		}
		if after == b {
			continue
		}
		if sqlite || i > 0 || copies[i] == nil || !w.stillHolds(fd, m, copies[i], after) {
			return fmt.Errorf("%s: %w", w.where(join(rel, m)), ErrChanged)
		}
	}
	return nil
}

// stillHolds: the file (after is its stat now) is the one copied, no
// shorter, and its first bytes, holes included, are still those copied:
// read again, they give the same digest. What was appended since is not
// in the backup; a file rewritten in place during the copy (a torn copy)
// fails this. What it cannot tell from an append is a rewrite that
// leaves every byte copied as it was and only adds after them: the copy
// is then a prefix of what the file holds now.
func (w *walker) stillHolds(dir int, name string, c *fileCopy, after stamp) bool {
	b := c.before
	if !after.exists || after.typ != unix.S_IFREG || after.ino != b.ino || after.size < b.size {
		return false
	}
	again, err := w.open(dir, name, c.rel, b, -1)
	if err != nil {
		return false
	}
	defer again.f.Close()
	segs, err := extents(int(again.f.Fd()), b.size) // of what was copied
	if err != nil {
		return false
	}
	sum, err := readSegs(again.f, segs, io.Discard)
	want := c.sum
	if c.data != nil {
		want = digestOf(c.segs, c.data)
	}
	return err == nil && sum == want
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

// digestOf is readSegs's digest of a copy held in memory (data, the
// segments' bytes in order), made only when it is needed: a group copied
// into memory is mostly found unchanged, and hashing it at each copy
// would take longer than the copy, which then more often spans a write.
func digestOf(segs []segment, data []byte) [sha256.Size]byte {
	h := segsHash(segs)
	h.Write(data)
	return [sha256.Size]byte(h.Sum(nil))
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
