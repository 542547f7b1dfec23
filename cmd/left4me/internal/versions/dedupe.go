package versions

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// sameFile reports whether dst (a file steamcmd wrote into the new
// version) holds exactly what src (the same path in the base version)
// holds, with the same mode and owner: then dst is a rewrite of an
// unchanged file (a validate pass, a platform switch) and the new version
// can share src's inode instead of storing it again. Size first, then the
// bytes.
func sameFile(src, dst string, sst, dstst fs.FileInfo) (bool, error) {
	if !sst.Mode().IsRegular() || !dstst.Mode().IsRegular() || sst.Size() != dstst.Size() || sst.Mode() != dstst.Mode() {
		return false, nil
	}
	a, b := sst.Sys().(*syscall.Stat_t), dstst.Sys().(*syscall.Stat_t)
	if a.Uid != b.Uid || a.Gid != b.Gid {
		return false, nil
	}
	if a.Dev == b.Dev && a.Ino == b.Ino {
		return false, nil // already shared
	}
	f, err := os.Open(src)
	if err != nil {
		return false, err
	}
	defer f.Close()
	g, err := os.Open(dst)
	if err != nil {
		return false, err
	}
	defer g.Close()
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		n, errA := io.ReadFull(f, bufA)
		m, errB := io.ReadFull(g, bufB)
		if n != m || !bytes.Equal(bufA[:n], bufB[:m]) {
			return false, nil
		}
		doneA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		doneB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		switch {
		case doneA && doneB:
			return true, nil
		case errA != nil && !doneA:
			return false, errA
		case errB != nil && !doneB:
			return false, errB
		case doneA != doneB:
			return false, nil
		}
	}
}

// share replaces dst by a hard link to src, atomically (a link beside it,
// renamed over it).
func share(src, dst string) error {
	tmp := dst + ".left4me-link"
	_ = os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		return fmt.Errorf("link %s: %w", src, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s by a link: %w", dst, err)
	}
	return nil
}

// DropWindowsOnly removes from tree the Windows-only files steamcmd's
// windows pass leaves (srcds.exe, bin/*.dll, ...): the Linux server never
// loads them, and a version would carry them on forever. It returns how
// many it removed.
func DropWindowsOnly(tree string) (int, error) {
	n := 0
	err := filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		low := strings.ToLower(d.Name())
		if d.Type().IsRegular() && (strings.HasSuffix(low, ".exe") || strings.HasSuffix(low, ".dll")) {
			if err := os.Remove(p); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("leave out the Windows-only files: %w", err)
	}
	return n, nil
}
