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
// tree is refused; sizes are capped (a sparse file cannot make a backup of
// a terabyte of zeros). A restore writes into a fresh directory, again
// only through descriptors, and swaps it for the upper layer with renames.
//
// Consistency while the server runs: every file is checked unchanged
// (inode, size, mtime, ctime) from before its copy to after it; a SQLite
// database is copied together with its -journal, -wal and -shm beside it
// and the group is checked as one, including whether a journal appeared
// or went, so the copy is the group at one instant, which SQLite recovers
// like after a power cut (sqlite.org/howtocorrupt.html section 1.2:
// copying is safe when no transaction is in progress during the copy;
// sqlite.org/atomiccommit.html: a hot journal is rolled back at the next
// open). A changed file or group makes the whole backup start over, up to
// Attempts times. Logs (*.log) may grow during the copy: what they held
// when the copy began is kept, a prefix of an append-only file.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
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

// DefaultMaxBytes caps what one backup reads: an upper layer is logs and
// plugin data, not game files.
const DefaultMaxBytes int64 = 4 << 30

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

// Options of Create.
type Options struct {
	MaxBytes int64 // of file content read; 0 = DefaultMaxBytes
	Attempts int   // 0 = Attempts
	// Pause is the wait before the n-th attempt is n times this; 0 =
	// 200 ms (a burst of writes is usually over by then).
	Pause time.Duration
	// Changed, if set, is called between the first stat of a file and
	// the copy (tests: a writer racing the backup).
	Changed func(name string)
	// Why it is taken (Info.Why), kept as the gzip header's comment
	// (RFC 1952 FCOMMENT), so it travels with the file.
	Why string
}

// Result is what Create made.
type Result struct {
	Info
	Files, Bytes int64
	Skipped      []string // FIFOs, sockets, devices: not data
	Tries        int
}

// Create copies runtime (runtime/NAME)'s upper/ into dir (backups/NAME),
// made 0700 if missing, as ID.tar.gz named after now (UTC).
func Create(runtime, dir string, now time.Time, o Options) (Result, error) {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Attempts == 0 {
		o.Attempts = Attempts
	}
	if o.Pause == 0 {
		o.Pause = 200 * time.Millisecond
	}
	rt, err := unix.Open(runtime, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return Result{}, fmt.Errorf("open %s: %w", runtime, err)
	}
	defer unix.Close(rt)
	what := filepath.Join(runtime, "upper")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Result{}, fmt.Errorf("create %s: %w", dir, err)
	}
	release, err := lock(dir)
	if err != nil {
		return Result{}, err
	}
	defer release()
	// Under the lock, a temporary file is one a killed backup left.
	if stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(stale) > 0 {
		for _, p := range stale {
			os.Remove(p)
		}
	}
	id, err := newID(dir, now)
	if err != nil {
		return Result{}, err
	}
	var last error
	for try := 1; try <= o.Attempts; try++ {
		r, err := createOnce(rt, what, dir, id, o)
		if err == nil {
			r.Tries = try
			return r, nil
		}
		last = err
		if !errors.Is(err, ErrChanged) {
			return Result{}, err
		}
		time.Sleep(time.Duration(try) * o.Pause)
	}
	return Result{}, fmt.Errorf("back up %s: %d attempts: %w", what, o.Attempts, last)
}

func newID(dir string, now time.Time) (string, error) {
	base := now.UTC().Format("20060102T150405Z")
	for i := 1; i < 1000; i++ {
		id := base
		if i > 1 {
			id += "-" + strconv.Itoa(i)
		}
		if _, err := os.Lstat(filepath.Join(dir, id+Suffix)); errors.Is(err, os.ErrNotExist) {
			return id, nil
		}
	}
	return "", fmt.Errorf("%s: too many backups at %s", dir, base)
}

// lock takes an exclusive flock on dir: one backup, prune or restore of an
// instance at a time.
func lock(dir string) (func(), error) {
	fd, err := layout.OpenLocked(dir, true)
	if err != nil {
		return nil, err
	}
	return func() { unix.Close(fd) }, nil
}

func createOnce(rt int, what, dir, id string, o Options) (res Result, err error) {
	up, err := openDir(rt, "upper")
	if err != nil {
		return res, fmt.Errorf("open %s: %w", what, err)
	}
	defer unix.Close(up)
	var top unix.Stat_t
	if err := unix.Fstat(up, &top); err != nil {
		return res, fmt.Errorf("stat %s: %w", what, err)
	}
	tmp, err := os.CreateTemp(dir, "."+id+".*.tmp")
	if err != nil {
		return res, fmt.Errorf("create backup in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return res, err
	}
	gz := gzip.NewWriter(tmp)
	gz.Comment = o.Why
	w := &walker{tw: tar.NewWriter(gz), top: what, dev: top.Dev, o: o, res: &res}
	if err := w.write(w.header(&top, "./", tar.TypeDir), "."); err != nil {
		return res, err
	}
	if err := w.dir(up, "", 0); err != nil {
		return res, err
	}
	if err := errors.Join(w.tw.Close(), gz.Close(), tmp.Sync()); err != nil {
		return res, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return res, fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	final := filepath.Join(dir, id+Suffix)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return res, err
	}
	if err := syncDir(dir); err != nil {
		return res, err
	}
	st, err := os.Stat(final)
	if err != nil {
		return res, err
	}
	t, _ := time.Parse("20060102T150405Z", id[:16])
	res.Info = Info{ID: id, Time: t, Size: st.Size(), Path: final}
	return res, nil
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

func (w *walker) where(rel string) string { return w.top + "/" + rel }

// sqliteSide are the files SQLite keeps beside a database
// (sqlite.org/tempfiles.html: rollback journal, write-ahead log, shm).
var sqliteSide = []string{"-journal", "-wal", "-shm"}

// group is the names copied and checked as one with name: a SQLite
// database and its side files; its side files go with it, not alone.
func group(name string, present map[string]bool) (members []string, alone bool) {
	for _, s := range sqliteSide {
		if base, ok := strings.CutSuffix(name, s); ok && present[base] {
			return nil, false // copied with its database
		}
	}
	members = []string{name}
	for _, s := range sqliteSide {
		members = append(members, name+s)
	}
	return members, true
}

func (w *walker) dir(fd int, rel string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: more than %d directories deep; refusing", w.where(rel), maxDepth)
	}
	names, err := readNames(fd)
	if err != nil {
		return fmt.Errorf("read %s: %w", w.where(rel), err)
	}
	present := map[string]bool{}
	for _, n := range names {
		present[n] = true
	}
	for _, n := range names {
		members, ok := group(n, present)
		if !ok {
			continue
		}
		before := make([]stamp, len(members))
		for i, m := range members {
			if before[i], err = w.lstat(fd, m, rel); err != nil {
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
		}
		for i, m := range members {
			after, err := w.lstat(fd, m, rel)
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

func (w *walker) lstat(fd int, name, rel string) (stamp, error) {
	var st unix.Stat_t
	err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return stamp{}, nil
	}
	if err != nil {
		return stamp{}, fmt.Errorf("stat %s: %w", w.where(join(rel, name)), err)
	}
	return stampOf(&st), nil
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
	f := os.NewFile(uintptr(fd), rel)
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

// ListWhy is List with each backup's Why, read from its header.
func ListWhy(dir string) ([]Info, error) {
	all, err := List(dir)
	for i := range all {
		all[i].Why = why(all[i].Path)
	}
	return all, err
}

// List gives the backups in dir, oldest first; a missing dir has none.
// Files not named like a backup are not listed. Their Why is not read
// (ListWhy): a metrics scrape lists every instance's backups.
func List(dir string) ([]Info, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []Info
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), Suffix)
		if !ok || !ValidID(id) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		t, _ := time.Parse("20060102T150405Z", id[:16])
		out = append(out, Info{ID: id, Time: t, Size: fi.Size(), Path: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return suffixN(out[i].ID) < suffixN(out[j].ID)
	})
	return out, nil
}

// why is the gzip comment of backup file p (Options.Why), "" if none or
// unreadable: only the header is read.
func why(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	gz, err := gzip.NewReader(io.LimitReader(f, 64<<10))
	if err != nil {
		return ""
	}
	return gz.Comment
}

func suffixN(id string) int {
	_, s, ok := strings.Cut(id, "-")
	if !ok {
		return 1
	}
	n, _ := strconv.Atoi(s)
	return n
}

// Prune removes the backups in dir beyond the newest keep, and those older
// than maxAge (0: no age limit), always keeping the newest one. It returns
// what it removed.
func Prune(dir string, keep int, maxAge time.Duration, now time.Time) ([]Info, error) {
	release, err := lock(dir)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer release()
	all, err := ListWhy(dir)
	if err != nil {
		return nil, err
	}
	keep = max(keep, 1)
	// Of the backups restores took, only the newest stays (to undo the
	// last restore): trial restores would push the real ones out of
	// keep. The rest count as any backup.
	lastRestore := ""
	for _, b := range all {
		if b.Why == BeforeRestore {
			lastRestore = b.ID
		}
	}
	var kept []Info
	var gone []Info
	var errs []error
	for _, b := range all {
		if b.Why == BeforeRestore && b.ID != lastRestore {
			if err := os.Remove(b.Path); err != nil {
				errs = append(errs, err)
				continue
			}
			gone = append(gone, b)
			continue
		}
		kept = append(kept, b)
	}
	for i, b := range kept {
		newest := i == len(kept)-1
		tooMany := len(kept)-i > keep
		tooOld := maxAge > 0 && now.Sub(b.Time) > maxAge
		if newest || !tooMany && !tooOld {
			continue
		}
		if err := os.Remove(b.Path); err != nil {
			errs = append(errs, err)
			continue
		}
		gone = append(gone, b)
	}
	if len(gone) > 0 {
		errs = append(errs, syncDir(dir))
	}
	return gone, errors.Join(errs...)
}

// Find is the backup id in dir; "" is the newest one not taken before a
// restore (BeforeRestore), or the newest if all were.
func Find(dir, id string) (Info, error) {
	all, err := ListWhy(dir)
	if err != nil {
		return Info{}, err
	}
	if len(all) == 0 {
		return Info{}, fmt.Errorf("%w: %s holds none", ErrNone, dir)
	}
	if id == "" {
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Why != BeforeRestore {
				return all[i], nil
			}
		}
		return all[len(all)-1], nil
	}
	for _, b := range all {
		if b.ID == id {
			return b, nil
		}
	}
	return Info{}, fmt.Errorf("%w: %s in %s (see left4me backups)", ErrNone, id, dir)
}

// Usage is the disk space runtime (runtime/NAME)'s upper/ takes, counted
// through descriptors as a backup reads it (no link followed, no other
// filesystem entered). A tree that changes meanwhile gives an estimate.
func Usage(runtime string) (int64, error) {
	rt, err := unix.Open(runtime, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(rt)
	up, err := openDir(rt, "upper")
	if err != nil {
		return 0, err
	}
	defer unix.Close(up)
	return usage(up, 0)
}

func usage(fd, depth int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	total := st.Blocks * 512
	if depth > maxDepth {
		return total, nil
	}
	names, err := readNames(fd)
	if err != nil {
		return total, err
	}
	for _, n := range names {
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			total += st.Blocks * 512
			continue
		}
		sub, err := openDir(fd, n)
		if err != nil {
			continue // replaced meanwhile, or a mount
		}
		s, _ := usage(sub, depth+1)
		unix.Close(sub)
		total += s
	}
	return total, nil
}
