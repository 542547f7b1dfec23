package ovbuild

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// Import makes a copy of the directory src the new current version of
// overlay name, as a build would: src is copied into a build directory,
// checked (Scan), marked and swapped in, so running instances keep the
// tree they mounted (overlayfs leaves changes to a mounted lower layer
// undefined: Documentation/filesystems/overlayfs.rst, "Changes to
// underlying filesystems") and the next start opens the new one. The
// result is recorded for `overlay status`. named are the overlay paths
// the specs name (Nesting). old is the ID the previous version got, ""
// if there was none.
func (s Store) Import(name, src string, named []string, out io.Writer) (old string, err error) {
	if err := ValidPath(name); err != nil {
		return "", err
	}
	release, err := s.Lock()
	if err != nil {
		return "", err
	}
	defer release()
	if err := s.Nesting(name, named); err != nil {
		return "", err
	}
	done, err := s.CleanStale(name)
	for _, d := range done {
		fmt.Fprintln(out, "left4me: "+d)
	}
	if err != nil {
		return "", err
	}
	id := s.NewID(name, time.Now())
	r := Result{ID: id, Started: time.Now().UTC()}
	bd := s.BuildDir(name, id)
	defer func() {
		r.Finished, r.OK, r.Outcome = time.Now().UTC(), err == nil, OutcomeOf(err)
		switch {
		case err != nil:
			r.Message = err.Error()
			if !errors.Is(err, ErrSwitched) {
				_ = fsat.RemoveTree(bd, fsat.RemoveOptions{Chmod: true})
			}
		case old == "":
			r.Message = "imported from " + src + "; first version"
		default:
			r.Message = "imported from " + src + "; the previous version is " + old
		}
		if serr := s.SaveResult(name, r); serr != nil && err == nil {
			err = serr
		}
	}()
	layer := filepath.Join(bd, "layer")
	if err := os.MkdirAll(s.Dir(name), 0o755); err != nil {
		return "", err
	}
	if err := os.Mkdir(bd, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", bd, err)
	}
	fmt.Fprintf(out, "left4me: importing %s as overlay %s version %s\n", src, name, id)
	if err := CopyTree(src, layer); err != nil {
		return "", fmt.Errorf("overlay %s: %w; the current version is unchanged", name, err)
	}
	return s.finish(name, id, out)
}

// finish checks the filled layer of build id, marks it and switches it
// in: what a build and an import end with.
func (s Store) finish(name, id string, out io.Writer) (old string, err error) {
	layer := filepath.Join(s.BuildDir(name, id), "layer")
	notes, err := Scan(layer)
	for _, n := range notes {
		fmt.Fprintln(out, "left4me: warning: "+n)
	}
	if err != nil {
		return "", fmt.Errorf("overlay %s: %w; the current version is unchanged", name, err)
	}
	// What was written reaches the disk before the switch names it: after
	// a power cut overlays/NAME is the old version or all of the new.
	err = WriteMarker(layer, name, id)
	if err == nil {
		err = fsat.SyncFS(layer)
	}
	if err != nil {
		return "", fmt.Errorf("overlay %s: %w; the current version is unchanged", name, err)
	}
	old, err = s.Switch(name, id)
	if err != nil {
		return "", fmt.Errorf("overlay %s: %w", name, err)
	}
	return old, nil
}

// maxDepth bounds the directories CopyTree descends, each an open
// descriptor.
const maxDepth = 128

// CopyTree copies the directory src to dst, which must not exist, as root
// on a tree others may write to: every entry is opened from its
// directory's descriptor without following a link (openat2
// RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) and checked on that descriptor, so
// a link or a swap never leads the copy outside src. Directories, regular
// files (mode and times kept) and links (copied as links, never followed)
// are copied; a device, FIFO or socket fails the copy, naming it.
// Extended attributes are not copied (a file capability would be one).
func CopyTree(src, dst string) error {
	// Its last component is not followed either: a link there (its owner
	// may change it at any time) would lead root's copy anywhere.
	sfd, err := unix.Open(src, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return fmt.Errorf("%s: not a directory (a link is not followed: name the directory itself)", src)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer unix.Close(sfd)
	if err := unix.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	dfd, err := unix.Open(dst, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dst, err)
	}
	defer unix.Close(dfd)
	c := copier{src: src}
	return c.dir(sfd, dfd, ".", 0)
}

type copier struct{ src string }

// copyResolve: no link, no magic link, no mount (a FUSE mount of the
// source's owner could stall the copy under the overlays' lock).
const copyResolve = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// dir copies the entries of the open directory sfd (at rel) into dfd and
// then gives dfd sfd's mode and times.
func (c copier) dir(sfd, dfd int, rel string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: more than %d directories deep", c.at(rel), maxDepth)
	}
	names, err := fsat.ReadDirNames(sfd)
	if err != nil {
		return fmt.Errorf("%s: %w", c.at(rel), err)
	}
	for _, n := range names {
		r := filepath.Join(rel, n)
		var st unix.Stat_t
		if err := unix.Fstatat(sfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("%s: %w", c.at(r), err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target := make([]byte, unix.PathMax)
			k, err := unix.Readlinkat(sfd, n, target)
			if err == nil {
				err = unix.Symlinkat(string(target[:k]), dfd, n)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", c.at(r), err)
			}
		case unix.S_IFDIR:
			err = c.sub(sfd, dfd, n, r, depth)
		case unix.S_IFREG:
			err = c.file(sfd, dfd, n, r)
		default:
			err = fmt.Errorf("%s: a %s is not allowed in an overlay", c.at(r), typeName(st.Mode))
		}
		if err != nil {
			return err
		}
	}
	return c.attrs(sfd, dfd, rel)
}

func (c copier) sub(sfd, dfd int, n, r string, depth int) error {
	child, err := unix.Openat2(sfd, n, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: copyResolve})
	if err != nil {
		return fmt.Errorf("%s: %w (changed while it was copied?)", c.at(r), err)
	}
	defer unix.Close(child)
	if err := unix.Mkdirat(dfd, n, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", r, err)
	}
	dchild, err := unix.Openat2(dfd, n, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: copyResolve})
	if err != nil {
		return fmt.Errorf("open the copy of %s: %w", r, err)
	}
	defer unix.Close(dchild)
	return c.dir(child, dchild, r, depth+1)
}

func (c copier) file(sfd, dfd int, n, r string) error {
	// O_NONBLOCK: a FIFO swapped in after the fstatat must not block the
	// open; the fstat below then refuses it.
	in, err := unix.Openat2(sfd, n, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC, Resolve: copyResolve})
	if err != nil {
		return fmt.Errorf("%s: %w (changed while it was copied?)", c.at(r), err)
	}
	src := os.NewFile(uintptr(in), r)
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("%s: %w", c.at(r), errors.Join(err, errors.New("not a regular file any more")))
	}
	out, err := unix.Openat(dfd, n, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", r, err)
	}
	dst := os.NewFile(uintptr(out), r)
	defer dst.Close()
	// The size it had: a file its owner keeps growing ends the copy
	// all the same; one that shrank fails it.
	if _, err := io.CopyN(dst, src, st.Size); err != nil {
		return fmt.Errorf("copy %s: %w (changed while it was copied?)", c.at(r), err)
	}
	return c.attrs(in, out, r)
}

// attrs gives the copy at dfd the permission bits and times of sfd (Scan
// then makes it root's and strips what an overlay may not have).
func (c copier) attrs(sfd, dfd int, r string) error {
	var st unix.Stat_t
	if err := unix.Fstat(sfd, &st); err != nil {
		return fmt.Errorf("%s: %w", c.at(r), err)
	}
	if err := unix.Fchmod(dfd, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod the copy of %s: %w", r, err)
	}
	tv := []unix.Timeval{unix.NsecToTimeval(st.Atim.Nano()), unix.NsecToTimeval(st.Mtim.Nano())}
	if err := unix.Futimes(dfd, tv); err != nil {
		return fmt.Errorf("set the times of the copy of %s: %w", r, err)
	}
	return nil
}

func (c copier) at(rel string) string { return filepath.Join(c.src, rel) }
