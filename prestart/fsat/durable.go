// WriteFile and Writer are the one writer of files the CLI replaces in place
// (specs, records, libraries it installs): a crash or a power cut leaves
// the old content or the new one, never a mix or an empty file, and a
// successful return means the new content is on disk. The recipe: a
// hidden temporary file in the same directory, fsync of the file, rename
// over the target, fsync of the directory.

package fsat

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Writer writes files durably. The zero value is ready to use.
type Writer struct {
	// Sync flushes an open file or directory to disk; nil means
	// (*os.File).Sync. Tests record the calls with it.
	Sync func(f *os.File) error
}

// WriteOptions say what file WriteFile makes.
type WriteOptions struct {
	Perm fs.FileMode
	// Owner, when set, is given to the file before it appears: [uid, gid].
	Owner *[2]int
	// NoReplace refuses, with an error matching fs.ErrExist, to replace an
	// existing path; the check and the rename are one step.
	NoReplace bool
}

// TempPrefix starts the name of every temporary file WriteFile makes
// next to its target, followed by the target's name. Readers of a
// directory (the generator, spec.LoadAll) skip dot files.
const TempPrefix = "."

// WriteFile writes data to path atomically and durably.
func WriteFile(path string, data []byte, o WriteOptions) error {
	return Writer{}.WriteFile(path, data, o)
}

// SyncDir fsyncs directory dir, making the renames and removals in it
// durable.
func SyncDir(dir string) error { return Writer{}.SyncDir(dir) }

// RemoveFile unlinks path and makes that durable; a missing path is no error.
func RemoveFile(path string) error { return Writer{}.RemoveFile(path) }

// WriteFile writes data to path atomically and durably.
func (w Writer) WriteFile(path string, data []byte, o WriteOptions) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(o.Perm)
	}
	if err == nil && o.Owner != nil {
		err = f.Chown(o.Owner[0], o.Owner[1])
	}
	if err == nil {
		err = w.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if o.NoReplace {
		err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			// A filesystem without RENAME_NOREPLACE: link(2) refuses to replace too.
			err = os.Link(tmp, path)
		}
		if errors.Is(err, unix.EEXIST) {
			err = fs.ErrExist
		}
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return w.SyncDir(dir)
}

// SyncDir fsyncs directory dir.
func (w Writer) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := w.sync(d); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// RemoveFile unlinks path and fsyncs its directory.
func (w Writer) RemoveFile(path string) error {
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return w.SyncDir(filepath.Dir(path))
}

func (w Writer) sync(f *os.File) error {
	if w.Sync != nil {
		return w.Sync(f)
	}
	return f.Sync()
}

// SyncFS flushes the whole filesystem holding path (syncfs(2)): for a tree
// of many files written by others (a game version, an overlay build),
// which must be on disk before a rename makes it current.
func SyncFS(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("sync the filesystem of %s: %w", path, err)
	}
	return nil
}
