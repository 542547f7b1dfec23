package specedit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// WriteNew writes path atomically, and only if it does not exist yet: a
// reader (the generator at a reload) sees either no file or all of it. The
// mode is 0640 (root's group may read): a spec may hold the instance's RCON
// password.
func WriteNew(path string, data []byte) error {
	tmp, err := writeTemp(path, data, 0o640)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op after a successful rename
	err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		// A filesystem without RENAME_NOREPLACE: link(2) refuses to replace too.
		err = os.Link(tmp, path)
	}
	if errors.Is(err, fs.ErrExist) || errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("%w: %s; edit it, or remove it first (left4me delete)", fail.ErrExists, path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// Replace atomically replaces path's content, keeping its mode and owner.
func Replace(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	tmp, err := writeTemp(path, data, st.Mode().Perm())
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(tmp, int(sys.Uid), int(sys.Gid)); err != nil && os.Geteuid() == 0 {
			return fmt.Errorf("keep owner of %s: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// writeTemp writes data to a hidden temp file next to path; the generator
// and spec.LoadAll skip dot files, so a crash leaves nothing that loads.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return f.Name(), nil
}

// syncDir makes the rename durable before we tell systemd to reload.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
