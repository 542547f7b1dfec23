package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// restoring is the backup unpacked below runtime/NAME, before the swap,
// and the upper layer it replaced after it, until removed.
const restoring = "upper.restore"

// Restore replaces runtime (runtime/NAME)'s upper/ with backup b. The
// instance must be stopped and unmounted, its lock held by the caller. The
// backup is unpacked into a fresh directory beside upper/, then the two
// are exchanged in one renameat2(RENAME_EXCHANGE): whenever it stops
// (an error, a kill, a power cut), upper/ is either the old tree or the
// whole backup, and the next restore removes what is left beside it.
func Restore(runtime string, b Info) error {
	rt, err := unix.Open(runtime, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", runtime, err)
	}
	defer unix.Close(rt)
	what := filepath.Join(runtime, restoring)
	if err := fsat.RemoveTreeAt(rt, restoring, what, fsat.RemoveOptions{}); err != nil { // an earlier one's
		return err
	}
	if err := unpack(rt, what, b); err != nil {
		return errors.Join(err, fsat.RemoveTreeAt(rt, restoring, what, fsat.RemoveOptions{}))
	}
	if err := unix.Fsync(rt); err != nil {
		return fmt.Errorf("sync %s: %w", runtime, err)
	}
	err = unix.Renameat2(rt, restoring, rt, "upper", unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.ENOENT) { // no upper layer yet
		err = unix.Renameat2(rt, restoring, rt, "upper", unix.RENAME_NOREPLACE)
	}
	if err != nil {
		return errors.Join(fmt.Errorf("put %s in place of %s/upper: %w", what, runtime, err), fsat.RemoveTreeAt(rt, restoring, what, fsat.RemoveOptions{}))
	}
	if err := unix.Fsync(rt); err != nil {
		return fmt.Errorf("sync %s: %w", runtime, err)
	}
	return fsat.RemoveTreeAt(rt, restoring, what, fsat.RemoveOptions{})
}

// Unpacked is what a restore of b takes on disk at most, block being the
// block size of the filesystem it goes to: the tar stream the backup holds
// (data, and of a sparse file only its data: a restore writes its holes
// as holes), and a block an entry (a file's last block, a directory's
// first). Reading it takes one decompression, no disk: a backup whose
// .tar.gz is small may hold ten times as much, and one that cannot be read
// is found now rather than after the server was stopped.
func Unpacked(ctx context.Context, b Info, block int64) (int64, error) {
	f, err := os.Open(b.Path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", b.Path, err)
	}
	stream := &counter{ctx: ctx, r: gz}
	tr := tar.NewReader(stream) // it skips an entry's data by reading it: counted
	var entries int64
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err := ctx.Err(); err != nil { // said as what it is, whatever the reader made of it
			return 0, fmt.Errorf("read %s: %w", b.Path, err)
		}
		if err != nil {
			return 0, fmt.Errorf("read %s: %w", b.Path, err)
		}
		entries++
	}
	return stream.n + entries*block, nil
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
func unpack(rt int, what string, b Info) error {
	f, err := os.Open(b.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", b.Path, err)
	}
	tr := tar.NewReader(gz)
	if err := unix.Mkdirat(rt, restoring, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", what, err)
	}
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
