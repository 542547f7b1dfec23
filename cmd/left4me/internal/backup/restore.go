package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// restoring is the backup unpacked below runtime/NAME, before the swap,
// and the upper layer it replaced after it, until removed.
const restoring = "upper.restore"

// restoringNote, beside it while a restore runs, says which backup it is,
// the backup taken of what it replaces, and the inode of the directory
// the backup is unpacked into: after a kill, where that inode is (still
// upper.restore, or upper) tells whether the backup was put in place.
const restoringNote = "upper.restore.note"

// RestoreOptions of Restore.
type RestoreOptions struct {
	// Undo is the ID of the backup taken of what the restore replaces
	// ("" none: --no-backup), kept in the note for what a kill leaves.
	Undo string
	// Swap, if set, runs put, which puts the backup in place: one who
	// tells what a kill would leave (lastwords) changes its word with it
	// as one step.
	Swap func(put func() error) error
}

// Restore replaces runtime (runtime/NAME)'s upper/ with backup b. The
// instance must be stopped and unmounted, its lock held by the caller. The
// backup is unpacked into a fresh directory beside upper/, then the two
// are exchanged in one renameat2(RENAME_EXCHANGE): whenever it stops
// (an error, a kill, a power cut), upper/ is either the old tree or the
// whole backup, and the note beside them says which (FindLeft). When ctx
// ends before the exchange, the unpacking stops, what it wrote is removed
// and the upper layer is as it was; the error is ctx's.
func Restore(ctx context.Context, runtime string, b Info, o RestoreOptions) error {
	rt, err := unix.Open(runtime, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", runtime, err)
	}
	defer unix.Close(rt)
	what := filepath.Join(runtime, restoring)
	if _, err := ClearLeft(runtime); err != nil { // an earlier one's: the caller said what it was
		return err
	}
	undo := func(err error) error {
		return errors.Join(err, fsat.RemoveTreeAt(rt, restoring, what, fsat.RemoveOptions{}), removeNote(runtime))
	}
	if err := unix.Mkdirat(rt, restoring, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(rt, restoring, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return undo(fmt.Errorf("stat %s: %w", what, err))
	}
	n := note{backup: b.ID, undo: o.Undo, ino: st.Ino, pid: os.Getpid()}
	if err := fsat.WriteFile(filepath.Join(runtime, restoringNote), n.bytes(), fsat.WriteOptions{Perm: 0o600}); err != nil {
		return undo(err)
	}
	if err := unpack(ctx, rt, what, b); err != nil {
		return undo(err)
	}
	if err := unix.Fsync(rt); err != nil {
		return undo(fmt.Errorf("sync %s: %w", runtime, err))
	}
	// The last moment to stop: from the exchange on, the restore is done.
	if err := ctx.Err(); err != nil {
		return undo(fmt.Errorf("restore %s: %w", b.ID, err))
	}
	put := func() error {
		err := unix.Renameat2(rt, restoring, rt, "upper", unix.RENAME_EXCHANGE)
		if errors.Is(err, unix.ENOENT) { // no upper layer yet
			err = unix.Renameat2(rt, restoring, rt, "upper", unix.RENAME_NOREPLACE)
		}
		if err != nil {
			return fmt.Errorf("put %s in place of %s/upper: %w", what, runtime, err)
		}
		return nil
	}
	if o.Swap != nil {
		err = o.Swap(put)
	} else {
		err = put()
	}
	if err != nil {
		return undo(err)
	}
	// In place: what fails from here is said as what it is, not as a
	// restore that did not happen (ErrReplacedLeft).
	if err := unix.Fsync(rt); err != nil {
		return fmt.Errorf("%w: sync %s: %w", ErrReplacedLeft, runtime, err)
	}
	// What it replaced, then the note: a kill meanwhile leaves the note
	// saying the backup is in place.
	if err := fsat.RemoveTreeAt(rt, restoring, what, fsat.RemoveOptions{}); err != nil {
		return fmt.Errorf("%w: %w", ErrReplacedLeft, err)
	}
	if err := removeNote(runtime); err != nil {
		return fmt.Errorf("%w: %w", ErrReplacedLeft, err)
	}
	return nil
}

// ErrReplacedLeft: Restore put the backup in place, but what it replaced
// (or its note) could not all be removed; FindLeft finds it, and the next
// restore, reset or delete removes it.
var ErrReplacedLeft = errors.New("the backup is in place, but what it replaced could not all be removed")

func removeNote(runtime string) error {
	return fsat.RemoveFile(filepath.Join(runtime, restoringNote))
}

// note is what restoringNote holds, a "KEY VALUE" line each.
type note struct {
	backup, undo string
	ino          uint64
	pid          int
}

func (n note) bytes() []byte {
	undo := n.undo
	if undo == "" {
		undo = "-"
	}
	return fmt.Appendf(nil, "backup %s\nundo %s\ninode %d\npid %d\n", n.backup, undo, n.ino, n.pid)
}

// parseNote reads a note; what it cannot read stays unknown ("" or 0).
func parseNote(b []byte) note {
	var n note
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "backup":
			if ValidID(v) {
				n.backup = v
			}
		case "undo":
			if ValidID(v) {
				n.undo = v
			}
		case "inode":
			n.ino, _ = strconv.ParseUint(v, 10, 64)
		case "pid":
			n.pid, _ = strconv.Atoi(v)
		}
	}
	return n
}

// Placed is whether a restore cut short had put its backup in place.
type Placed int

const (
	PlacedUnknown Placed = iota // its note is missing or unreadable (a kill as it began, or an older left4me)
	NotPlaced                   // upper/ is as it was before it
	WasPlaced                   // upper/ is the backup; what it replaced is beside it
)

// Left is what a restore that was cut short (killed, a power cut) left in
// runtime/NAME: upper.restore, its note, or both. It is never upper/: a
// restore only swaps the two in one rename.
type Left struct {
	Path   string // runtime/NAME/upper.restore, "" when only the note is left
	Note   string // runtime/NAME/upper.restore.note, "" when none
	Backup string // the ID it restored, "" unknown
	Undo   string // the backup it took of what it replaced, "" none or unknown
	Placed Placed
	PID    int // the process that wrote the note (0 unknown): one still running is a restore under way
}

// Any reports whether anything is left.
func (l Left) Any() bool { return l.Path != "" || l.Note != "" }

// FindLeft reads what a restore cut short left in runtime; it changes
// nothing. A restore under way looks the same: hold the instance's lock,
// or look at PID.
func FindLeft(runtime string) (Left, error) {
	var l Left
	var st, up unix.Stat_t
	staged := filepath.Join(runtime, restoring)
	switch err := unix.Lstat(staged, &st); {
	case err == nil:
		l.Path = staged
	case !errors.Is(err, unix.ENOENT):
		return l, fmt.Errorf("stat %s: %w", staged, err)
	}
	p := filepath.Join(runtime, restoringNote)
	b, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l, fmt.Errorf("read %s: %w", p, err)
	}
	if err != nil {
		return l, nil
	}
	l.Note = p
	n := parseNote(b)
	l.Backup, l.Undo, l.PID = n.backup, n.undo, n.pid
	upOK := unix.Lstat(filepath.Join(runtime, "upper"), &up) == nil
	switch {
	case n.ino == 0:
	case upOK && up.Ino == n.ino:
		l.Placed = WasPlaced
	case l.Path != "" && st.Ino == n.ino:
		l.Placed = NotPlaced
	}
	return l, nil
}

// ClearLeft removes what FindLeft finds, and says what that was. The
// caller holds the instance's lock (no restore under way).
func ClearLeft(runtime string) (Left, error) {
	l, err := FindLeft(runtime)
	if err != nil || !l.Any() {
		return l, err
	}
	if l.Path != "" {
		if err := fsat.RemoveTree(l.Path, fsat.RemoveOptions{}); err != nil {
			return l, err
		}
	}
	return l, removeNote(runtime)
}

// String says what l is, for a person.
func (l Left) String() string {
	where := l.Path
	if where == "" {
		where = l.Note
	}
	id := "a backup"
	if l.Backup != "" {
		id = "backup " + l.Backup
	}
	undo := "not backed up (--no-backup)"
	if l.Undo != "" {
		undo = "backed up as " + l.Undo
	}
	switch {
	case l.Placed == NotPlaced:
		return fmt.Sprintf("%s: part of %s, unpacked by a restore cut short before it was put in place: the upper layer is as it was before that restore", where, id)
	case l.Placed == WasPlaced && l.Path != "":
		return fmt.Sprintf("%s: the upper layer a restore of %s replaced (%s), left when it was cut short: %s is in place", where, id, undo, id)
	case l.Placed == WasPlaced:
		return fmt.Sprintf("%s: the note of a restore of %s cut short as it ended: %s is in place", where, id, id)
	}
	return fmt.Sprintf("%s: left by a restore cut short (of %s; whether it was put in place cannot be told): it is not the upper layer in use", where, id)
}

// Unpacked is what a restore of b takes on disk at most, block being the
// block size of the filesystem it goes to: the tar stream the backup holds
// (data, and of a sparse file only its data: a restore writes its holes
// as holes), and a block an entry (a file's last block, a directory's
// first). Reading it takes one decompression, no disk: a backup whose
// .tar.gz is small may hold ten times as much, and one that cannot be read
// is found now rather than after the server was stopped. entries is how
// many files and directories it makes (an inode each).
func Unpacked(ctx context.Context, b Info, block int64) (bytes, entries int64, err error) {
	f, err := os.Open(b.Path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return 0, 0, fmt.Errorf("read %s: %w", b.Path, err)
	}
	stream := &counter{ctx: ctx, r: gz}
	tr := tar.NewReader(stream) // it skips an entry's data by reading it: counted
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err := ctx.Err(); err != nil { // said as what it is, whatever the reader made of it
			return 0, 0, fmt.Errorf("read %s: %w", b.Path, err)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read %s: %w", b.Path, err)
		}
		entries++
	}
	return stream.n + entries*block, entries, nil
}

// counter counts what is read through it, until ctx ends.
type counter struct {
	ctx context.Context
	r   io.Reader
	n   int64
}

func (c *counter) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// unpack writes b into a new directory rt/restoring.
func unpack(ctx context.Context, rt int, what string, b Info) error {
	f, err := os.Open(b.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", b.Path, err)
	}
	// Every read of the backup stops once ctx ends, a large file's too.
	tr := tar.NewReader(&counter{ctx: ctx, r: gz})
	top, err := openDir(rt, restoring)
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	defer unix.Close(top)
	u := unpacker{top: top, what: what, src: b.Path}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if cerr := ctx.Err(); cerr != nil { // said as what it is, whatever the reader made of it
			return fmt.Errorf("unpack %s into %s: %w", b.ID, what, cerr)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", b.Path, err)
		}
		if h.Name == "./" { // upper/ itself: its owner and mode
			if h.Typeflag != tar.TypeDir {
				return fmt.Errorf("%s: entry %q is not a directory; refusing", b.Path, h.Name)
			}
			err := errors.Join(wrap(what, unix.Fchown(top, h.Uid, h.Gid)), wrap(what, unix.Fchmod(top, uint32(h.Mode)&0o1777)))
			if err != nil {
				return err
			}
			continue
		}
		if err := u.entry(h, tr); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("unpack %s into %s: %w", b.ID, what, cerr)
			}
			return err
		}
	}
	// Every file and directory on disk before the swap makes them count.
	if err := unix.Syncfs(top); err != nil {
		return fmt.Errorf("sync %s: %w", what, err)
	}
	return nil
}

type unpacker struct {
	top       int
	what, src string
}

// split checks an entry's name: relative, no "." or "..", no empty parts.
func split(name string) ([]string, bool) {
	parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return nil, false
		}
	}
	return parts, true
}

// parent opens the directory holding parts' last element, below top,
// following no link.
func (u unpacker) parent(parts []string) (int, error) {
	if len(parts) == 1 {
		return unix.Dup(u.top)
	}
	how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: resolve}
	return unix.Openat2(u.top, strings.Join(parts[:len(parts)-1], "/"), &how)
}

func (u unpacker) entry(h *tar.Header, r io.Reader) error {
	parts, ok := split(h.Name)
	if !ok {
		return fmt.Errorf("%s: entry %q: not a plain relative path; refusing to restore it", u.src, h.Name)
	}
	where := fsat.Child(u.what, strings.Join(parts, "/")) // the server's names, quoted
	dir, err := u.parent(parts)
	if err != nil {
		return fmt.Errorf("restore %s: %w", where, err)
	}
	defer unix.Close(dir)
	name := parts[len(parts)-1]
	mode := uint32(h.Mode) & 0o1777
	switch h.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(dir, name, 0o700); err != nil {
			return fmt.Errorf("restore %s: %w", where, err)
		}
		fd, err := openDir(dir, name)
		if err != nil {
			return fmt.Errorf("restore %s: %w", where, err)
		}
		defer unix.Close(fd)
		if v, ok := h.PAXRecords[paxXattr+opaqueXattr]; ok {
			if err := unix.Fsetxattr(fd, opaqueXattr, []byte(v), 0); err != nil {
				return fmt.Errorf("restore %s: mark opaque: %w", where, err)
			}
		}
		return errors.Join(wrap(where, unix.Fchown(fd, h.Uid, h.Gid)), wrap(where, unix.Fchmod(fd, mode)))
	case tar.TypeReg:
		fd, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("restore %s: %w", where, err)
		}
		f := os.NewFile(uintptr(fd), where)
		defer f.Close()
		if err := copySparse(f, r); err != nil {
			return fmt.Errorf("restore %s: %w", where, err)
		}
		ts := []unix.Timespec{unix.NsecToTimespec(h.ModTime.UnixNano()), unix.NsecToTimespec(h.ModTime.UnixNano())}
		return errors.Join(wrap(where, unix.Fchown(fd, h.Uid, h.Gid)), wrap(where, unix.Fchmod(fd, mode)),
			wrap(where, unix.UtimesNanoAt(dir, name, ts, unix.AT_SYMLINK_NOFOLLOW)), wrap(where, f.Sync()))
	case tar.TypeSymlink:
		if err := unix.Symlinkat(h.Linkname, dir, name); err != nil {
			return fmt.Errorf("restore %s: %w", where, err)
		}
		return wrap(where, unix.Fchownat(dir, name, h.Uid, h.Gid, unix.AT_SYMLINK_NOFOLLOW))
	case tar.TypeChar:
		if h.Devmajor != 0 || h.Devminor != 0 {
			return fmt.Errorf("%s: entry %q: a device; refusing to restore it", u.src, h.Name)
		}
		// An overlayfs whiteout (a 0/0 character device).
		if err := unix.Mknodat(dir, name, unix.S_IFCHR|0o600, 0); err != nil {
			return fmt.Errorf("restore %s: %w", where, err)
		}
		return wrap(where, unix.Fchownat(dir, name, h.Uid, h.Gid, unix.AT_SYMLINK_NOFOLLOW))
	}
	return fmt.Errorf("%s: entry %q: type %q is not one a backup holds; refusing", u.src, h.Name, h.Typeflag)
}

func wrap(where string, err error) error {
	if err != nil {
		return fmt.Errorf("restore %s: %w", where, err)
	}
	return nil
}

// holeChunk is the run of zeros copySparse leaves a hole for.
const holeChunk = 64 << 10

// copySparse copies r into the new, empty file f, leaving a hole for
// every holeChunk of zeros (at holeChunk offsets): a backup is capped by
// the apparent size of what it holds, so a restore must not put more on
// disk than the server's files took (a sparse file would otherwise come
// back as gigabytes of written zeros).
func copySparse(f *os.File, r io.Reader) error {
	buf, zero := make([]byte, holeChunk), make([]byte, holeChunk)
	var off int64
	for eof := false; !eof; {
		n := 0
		for n < len(buf) && !eof { // a whole chunk, or what is left
			m, err := r.Read(buf[n:])
			n += m
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err // a truncated backup among them: not a shorter file
			}
		}
		if n == holeChunk && bytes.Equal(buf, zero) {
			if _, err := f.Seek(holeChunk, io.SeekCurrent); err != nil {
				return err
			}
		} else if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		off += int64(n)
	}
	// A hole at the end is not written: the size is set.
	return f.Truncate(off)
}
