// A group is a name copied and checked as one with its SQLite side files:
// copied into memory, checked, and copied again after a pause when it
// changed; or, too large or not all regular files, streamed to the archive.

package backup

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

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
		// Sized once (bounded by stageMax above): grown by doubling, a
		// 20 MiB database was copied about twice over, and the group's
		// copy must fit between two of its commits.
		buf := bytes.NewBuffer(make([]byte, 0, stored(c.segs)+bytes.MinRead))
		err = copySegs(c.f, c.segs, buf) // its digest only if needed (stillHolds)
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

// digestOf is readSegs's digest of a copy held in memory (data, the
// segments' bytes in order), made only when it is needed: a group copied
// into memory is mostly found unchanged, and hashing it at each copy
// would take longer than the copy, which then more often spans a write.
func digestOf(segs []segment, data []byte) [sha256.Size]byte {
	h := segsHash(segs)
	h.Write(data)
	return [sha256.Size]byte(h.Sum(nil))
}
