// Package backup keeps copies of what a server wrote: its upper layer
// (runtime/NAME/upper: SourceMod data, logs, cookies, bans), never the
// game files below it. A backup is one gzip'd tar, root's, mode 0600, in
// backups/NAME/ID.tar.gz under the state root.
//
// The upper layer is written by the server, which is not trusted. It is
// read as root through descriptors only: every directory is opened below
// the one before with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
// RESOLVE_NO_XDEV) and O_NOFOLLOW and checked to be the entry that was
// listed; links are stored as links, never followed; FIFOs, sockets and
// devices are skipped (a FIFO would block the read); a mount inside the
// tree is refused; the data is capped (MaxBytes) and so is the length
// with holes (MaxLength); a sparse file is stored as its data and a map
// of its holes (SEEK_DATA/SEEK_HOLE, GNU tar's sparse format 1.0). A restore writes into a fresh directory, again
// only through descriptors, and swaps it for the upper layer with renames;
// it writes runs of zeros as holes, so it takes no more disk than the
// files held. Every name below the upper layer is the server's: messages
// quote one that is more than printable text (fsat.Child), and every
// name is backed up (a name that looks like a SQLite side file is copied
// with its database if it has one, else on its own).
//
// Consistency while the server runs: every file is checked unchanged
// (inode, size, mtime, ctime) from before its copy to after it; a SQLite
// database is copied together with its -journal, -wal and -shm beside it
// and the group is checked as one, including whether a journal appeared
// or went, so the copy is the group at one instant, which SQLite recovers
// like after a power cut (sqlite.org/howtocorrupt.html section 1.2:
// copying is safe when no transaction is in progress during the copy;
// sqlite.org/atomiccommit.html: a hot journal is rolled back at the next
// open). A file that only grew during the copy (a log, a SourceTV demo
// being recorded, a WAL taking commits) is kept as what it held when the
// copy began, once a second read shows it still holds exactly that; a
// file rewritten in place is a change. A changed group is copied again
// (walker.group says when), else the whole backup starts over, up to
// Attempts times, after pauses that double.
package backup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

// Suffix ends every backup's file name.
const Suffix = ".tar.gz"

// Retention defaults, a spec's without backups: (package spec says why).
const (
	DefaultKeep   = spec.DefaultBackupKeep
	DefaultMaxAge = spec.DefaultBackupMaxAge
)

// DefaultMaxBytes caps the data one backup stores: an upper layer is
// logs and plugin data, not game files. The holes of a sparse file are
// not data (they take no disk, and the archive keeps them as holes).
const DefaultMaxBytes int64 = 4 << 30

// DefaultMaxLength caps the files' lengths together, holes included: a
// restore (Go's archive/tar) hands a hole back as zeros to be turned into
// a hole again, some GB/s, so a server's file of 8 EiB of holes (xfs
// allows it) would hold a restore up for years.
const DefaultMaxLength int64 = 1 << 40

// Attempts is how often a backup starts over when a file changed during
// the copy.
const Attempts = 5

// ErrChanged: the upper layer kept changing under the copy.
var ErrChanged = errors.New("changed while it was copied")

// ErrNone: no backup (of that ID) exists.
var ErrNone = errors.New("no such backup")

// opaqueXattr marks an overlayfs opaque directory (Documentation/
// filesystems/overlayfs.rst, "whiteouts and opaque directories").
const opaqueXattr = "trusted.overlay.opaque"

const paxXattr = "SCHILY.xattr."

const resolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS

// maxDepth bounds the walk (one descriptor per level).
const maxDepth = 128

var idRe = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z(-[0-9]{1,3})?$`)

// ValidID reports whether id names a backup (as IDs are made).
func ValidID(id string) bool { return idRe.MatchString(id) }

// Info is one backup.
type Info struct {
	ID   string
	Time time.Time // when it was taken (from its ID)
	Size int64     // bytes of the file
	Path string
	Why  string // what it was taken before ("before restore"), "" for a plain one
}

// BeforeRestore is the Why of the backup a restore takes of what it
// replaces: Find's newest skips it, so a second restore does not undo the
// first.
const BeforeRestore = "before restore"

// lock takes an exclusive flock on dir: one backup, prune or restore of an
// instance at a time.
func lock(dir string) (func(), error) {
	fd, err := layout.OpenLocked(dir, true)
	if err != nil {
		return nil, err
	}
	return func() { unix.Close(fd) }, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// openDir is fsat.OpenDir: the same rules for every walker of a tree
// the server wrote.
func openDir(dir int, name string) (int, error) { return fsat.OpenDir(dir, name) }

func openFile(dir int, name string) (int, error) {
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC, Resolve: resolve}
	for {
		fd, err := unix.Openat2(dir, name, &how)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

func readNames(fd int) ([]string, error) {
	dup, err := unix.Dup(fd)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), "dir")
	defer f.Close()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}
