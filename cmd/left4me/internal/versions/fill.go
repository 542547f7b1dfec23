package versions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Overlayfs attributes in an upper layer (trusted.* needs root).
const (
	xattrPrefix   = "trusted.overlay."
	xattrOpaque   = xattrPrefix + "opaque"
	xattrWhiteout = xattrPrefix + "whiteout"
	xattrRedirect = xattrPrefix + "redirect"
	xattrMetacopy = xattrPrefix + "metacopy"
)

// fill completes upper, the upper layer of an unmounted overlay over
// lower, into the tree the overlay showed: whiteouts are removed, opaque
// directories keep only their own entries, and every entry of lower that
// upper neither replaces nor deletes is added, directories recreated and
// everything else hard-linked. A file upper replaced with the very same
// bytes, mode and owner (steamcmd rewrote it unchanged) is hard-linked to
// lower's too, so a version stores only what really changed. All overlay attributes are stripped, so the
// result can itself be a lower layer later.
func fill(lower, upper string) error {
	deleted := map[string]bool{} // whiteouts, relative to upper
	opaque := map[string]bool{}
	err := filepath.WalkDir(upper, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("staged tree: %w", err)
		}
		rel, _ := filepath.Rel(upper, path)
		isWhiteout, isOpaque, err := clean(path, d)
		if err != nil {
			return err
		}
		switch {
		case isWhiteout:
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove whiteout %s: %w", path, err)
			}
			deleted[rel] = true
		case isOpaque:
			opaque[rel] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fillDir(lower, upper, ".", deleted, opaque)
}

// clean strips the overlay attributes of path and reports whether it is a
// whiteout or an opaque directory. Redirects and metacopy are refused:
// the staging overlay is mounted without them, so seeing one means the
// tree is not what this code understands.
func clean(path string, d fs.DirEntry) (whiteout, opaque bool, err error) {
	if d.Type()&fs.ModeCharDevice != 0 {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return false, false, fmt.Errorf("stat %s: %w", path, err)
		}
		if st.Rdev == 0 {
			return true, false, nil
		}
	}
	names, err := listXattrs(path)
	if err != nil {
		return false, false, err
	}
	for _, n := range names {
		if !strings.HasPrefix(n, xattrPrefix) {
			continue
		}
		switch n {
		case xattrRedirect, xattrMetacopy:
			return false, false, fmt.Errorf("%s carries %s, which the staging overlay should never write; refusing to build a version from it", path, n)
		case xattrWhiteout:
			whiteout = d.Type().IsRegular()
		case xattrOpaque:
			v := make([]byte, 8)
			if n, err := unix.Lgetxattr(path, xattrOpaque, v); err == nil && n > 0 && (v[0] == 'y' || v[0] == 'x') {
				opaque = d.IsDir()
			}
		}
		if err := unix.Lremovexattr(path, n); err != nil {
			return false, false, fmt.Errorf("remove %s from %s: %w", n, path, err)
		}
	}
	return whiteout, opaque, nil
}

func listXattrs(path string) ([]string, error) {
	size, err := unix.Llistxattr(path, nil)
	if errors.Is(err, unix.ENOTSUP) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list attributes of %s: %w", path, err)
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, fmt.Errorf("list attributes of %s: %w", path, err)
	}
	var out []string
	for _, n := range strings.Split(string(buf[:size]), "\x00") {
		if n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// fillDir adds lower/rel's entries to upper/rel.
func fillDir(lower, upper, rel string, deleted, opaque map[string]bool) error {
	if opaque[rel] {
		return nil
	}
	ldir := filepath.Join(lower, rel)
	ents, err := os.ReadDir(ldir)
	if err != nil {
		return fmt.Errorf("read the base version's %s: %w", ldir, err)
	}
	for _, e := range ents {
		r := filepath.Join(rel, e.Name())
		if deleted[r] {
			continue
		}
		src, dst := filepath.Join(lower, r), filepath.Join(upper, r)
		ust, err := os.Lstat(dst)
		switch {
		case err == nil:
			if ust.IsDir() && e.IsDir() {
				if err := fillDir(lower, upper, r, deleted, opaque); err != nil {
					return err
				}
				continue
			}
			// The upper entry replaced this one; if steamcmd only
			// rewrote it unchanged, the base's file is shared instead.
			lst, err := os.Lstat(src)
			if err != nil {
				return fmt.Errorf("stat %s: %w", src, err)
			}
			same, err := sameFile(src, dst, lst, ust)
			if err != nil {
				return fmt.Errorf("compare %s with %s: %w", dst, src, err)
			}
			if same {
				if err := share(src, dst); err != nil {
					return err
				}
			}
			continue
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("stat %s: %w", dst, err)
		}
		if !e.IsDir() {
			// Not followed: a symlink is linked as the link itself.
			if err := os.Link(src, dst); err != nil {
				return fmt.Errorf("link %s to %s: %w", src, dst, err)
			}
			continue
		}
		if err := copyDir(src, dst); err != nil {
			return err
		}
		if err := fillDir(lower, upper, r, deleted, opaque); err != nil {
			return err
		}
	}
	return nil
}

// copyDir makes dst a directory with src's owner and mode.
func copyDir(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("stat %s: %w", src, err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if err := os.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if err := os.Lchown(dst, int(sys.Uid), int(sys.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if err := os.Chmod(dst, st.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSticky|fs.ModeSetuid)); err != nil {
		return fmt.Errorf("chmod %s: %w", dst, err)
	}
	return nil
}
