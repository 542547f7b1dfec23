package ovbuild

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Scan checks a finished layer as root, before it may become current:
//
//   - device nodes, FIFOs and sockets: refused (the build fails);
//   - setuid/setgid bits: stripped and reported (the sandbox's
//     RestrictSUIDSGID= already forbids making them; overlays are mounted
//     nosuid anyway);
//   - symbolic links pointing outside the layer: reported (kept: the start
//     helper never follows them, the server sees them as they are);
//   - ownership: everything is made root's and not group/world-writable,
//     so neither the server nor a later build can change the version.
//
// notes are the reports; err is set when the layer is refused.
func Scan(layer string) (notes []string, err error) {
	var refused []string
	werr := filepath.WalkDir(layer, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(layer, p)
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		m := st.Mode()
		switch {
		case m&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeIrregular) != 0:
			refused = append(refused, fmt.Sprintf("%s: %s not allowed in an overlay", rel, typeName(m)))
			return nil
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if outside(rel, target) {
				notes = append(notes, fmt.Sprintf("%s -> %s: link points outside the layer (kept; the helpers never follow it)", rel, target))
			}
			return unix.Lchown(p, 0, 0)
		}
		if err := unix.Lchown(p, 0, 0); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
		perm := uint32(m.Perm()) &^ 0o022
		if m&(fs.ModeSetuid|fs.ModeSetgid) != 0 && !m.IsDir() {
			notes = append(notes, fmt.Sprintf("%s: setuid/setgid bit removed", rel))
		}
		if m.IsDir() {
			perm |= 0o700
		}
		// chmod after chown: chown clears setuid, chmod sets what stays.
		if err := unix.Fchmodat(unix.AT_FDCWD, p, perm, 0); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
		return nil
	})
	if werr != nil {
		return notes, fmt.Errorf("scan %s: %w", layer, werr)
	}
	if len(refused) > 0 {
		return notes, fmt.Errorf("layer %s refused:\n  %s", layer, strings.Join(refused, "\n  "))
	}
	return notes, nil
}

// outside reports whether a link at rel (relative to the layer) with
// target leads out of the layer.
func outside(rel, target string) bool {
	if filepath.IsAbs(target) {
		return true
	}
	j := filepath.Clean(filepath.Join(filepath.Dir(rel), target))
	return j == ".." || strings.HasPrefix(j, "../")
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "irregular file"
}
