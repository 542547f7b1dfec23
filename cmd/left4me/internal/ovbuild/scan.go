package ovbuild

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/left4me/left4me/prestart/fsat"

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
// The builder wrote the tree, so nothing is done by path: every entry is
// reached from its directory's descriptor (openat2 without links or
// mounts), changed through its own descriptor or with fchownat
// (AT_SYMLINK_NOFOLLOW), and a link is never followed. The build unit has
// ended before Scan runs (Run waits for it). notes are the reports; err is
// set when the layer is refused.
func Scan(layer string) (notes []string, err error) {
	top, err := unix.Open(layer, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", layer, err)
	}
	sc := scanner{}
	err = sc.dir(top, ".")
	unix.Close(top)
	if err != nil {
		return sc.notes, fmt.Errorf("scan %s: %w", layer, err)
	}
	if len(sc.refused) > 0 {
		return sc.notes, fmt.Errorf("layer %s refused:\n  %s", layer, strings.Join(sc.refused, "\n  "))
	}
	return sc.notes, nil
}

type scanner struct {
	notes, refused []string
}

const scanResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS

// dir fixes the open directory fd (at rel) and everything below it.
func (sc *scanner) dir(fd int, rel string) error {
	if err := fix(fd, rel, sc); err != nil {
		return err
	}
	names, err := fsat.ReadDirNames(fd)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	for _, n := range names {
		r := filepath.Join(rel, n)
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target := make([]byte, unix.PathMax)
			k, err := unix.Readlinkat(fd, n, target)
			if err != nil {
				return fmt.Errorf("%s: %w", r, err)
			}
			if outside(r, string(target[:k])) {
				sc.notes = append(sc.notes, fmt.Sprintf("%s -> %s: link points outside the layer (kept; the helpers never follow it)", r, target[:k]))
			}
			if err := unix.Fchownat(fd, n, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return fmt.Errorf("chown %s: %w", r, err)
			}
		case unix.S_IFDIR, unix.S_IFREG:
			flags := uint64(unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC)
			if st.Mode&unix.S_IFMT == unix.S_IFDIR {
				flags |= unix.O_DIRECTORY
			}
			child, err := unix.Openat2(fd, n, &unix.OpenHow{Flags: flags, Resolve: scanResolve})
			if err != nil {
				return fmt.Errorf("%s: %w (changed while it was scanned?)", r, err)
			}
			if flags&unix.O_DIRECTORY != 0 {
				err = sc.dir(child, r)
			} else {
				err = fix(child, r, sc)
			}
			unix.Close(child)
			if err != nil {
				return err
			}
		default:
			sc.refused = append(sc.refused, fmt.Sprintf("%s: %s not allowed in an overlay", r, typeName(st.Mode)))
		}
	}
	return nil
}

// fix makes the open file or directory fd root's, not group- or world-
// writable, without setuid/setgid bits (directories keep setgid: harmless
// under nosuid, and chown clears it anyway).
func fix(fd int, rel string, sc *scanner) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	typ := st.Mode & unix.S_IFMT
	if typ != unix.S_IFDIR && typ != unix.S_IFREG {
		// Swapped after fstatat: refuse, never chmod what it became.
		return fmt.Errorf("%s: %w", rel, errors.New("changed type while it was scanned"))
	}
	if err := unix.Fchown(fd, 0, 0); err != nil {
		return fmt.Errorf("chown %s: %w", rel, err)
	}
	perm := st.Mode & 0o777 &^ 0o022
	if st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 && typ == unix.S_IFREG {
		sc.notes = append(sc.notes, fmt.Sprintf("%s: setuid/setgid bit removed", rel))
	}
	if typ == unix.S_IFDIR {
		perm |= 0o700
	}
	// chmod after chown: chown clears setuid, chmod sets what stays.
	if err := unix.Fchmod(fd, perm); err != nil {
		return fmt.Errorf("chmod %s: %w", rel, err)
	}
	return nil
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

func typeName(m uint32) string {
	switch m & unix.S_IFMT {
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "irregular file"
}
