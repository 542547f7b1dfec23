package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Options of Create.
type Options struct {
	MaxBytes  int64 // of data stored; 0 = DefaultMaxBytes
	MaxLength int64 // of the files, holes included; 0 = DefaultMaxLength
	Attempts  int   // 0 = Attempts
	// StageMax bounds a group copied into memory before it is written
	// (walker.group); 0 = DefaultStageMax.
	StageMax int64
	// Pause is the first wait before a group is copied again, doubled
	// at each next one; the whole backup starts over after 4 times that,
	// doubled each time too. 0 = 50 ms: a group waits 50, 100, 200 and
	// 400 ms, a backup 200, 400, 800 and 1600 ms (a burst of writes is
	// over by then).
	Pause time.Duration
	// Changed, if set, is called after a regular file was copied, before
	// its group is checked (tests: a writer racing the backup).
	Changed func(name string)
	// Why it is taken (Info.Why), kept as the gzip header's comment
	// (RFC 1952 FCOMMENT), so it travels with the file.
	Why string
	// Done, once closed (a command's ctx.Done(): Ctrl-C), ends the backup:
	// nothing of it is left, and its error is context.Canceled.
	Done <-chan struct{}
}

// stopped reports whether o.Done was closed.
func (o Options) stopped() bool {
	select {
	case <-o.Done:
		return true
	default:
		return false
	}
}

// stopWriter is the archive's file, written until Done is closed.
type stopWriter struct {
	w io.Writer
	o Options
}

func (s stopWriter) Write(p []byte) (int, error) {
	if s.o.stopped() {
		return 0, context.Canceled
	}
	return s.w.Write(p)
}

// Result is what Create made.
type Result struct {
	Info
	Files, Bytes int64    // Bytes: of data, holes not counted
	Length       int64    // of the files, holes counted
	Skipped      []string // FIFOs, sockets, devices: not data
	Tries        int
	Retries      int // groups copied again in the last try
}

// Create copies runtime (runtime/NAME)'s upper/ into dir (backups/NAME),
// made 0700 if missing, as ID.tar.gz named after now (UTC).
func Create(runtime, dir string, now time.Time, o Options) (Result, error) {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxLength == 0 {
		o.MaxLength = DefaultMaxLength
	}
	if o.Attempts == 0 {
		o.Attempts = Attempts
	}
	if o.Pause == 0 {
		o.Pause = 50 * time.Millisecond
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
		if o.stopped() { // said as what it is, whatever the writers made of it
			return Result{}, fmt.Errorf("back up %s: %w", what, context.Canceled)
		}
		last = err
		if !errors.Is(err, ErrChanged) {
			return Result{}, err
		}
		if try < o.Attempts {
			time.Sleep(4 * o.Pause << (try - 1))
		}
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
	gz := gzip.NewWriter(stopWriter{w: tmp, o: o})
	gz.Comment = o.Why
	w := &walker{tw: tar.NewWriter(gz), raw: gz, top: what, dev: top.Dev, o: o, res: &res}
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
