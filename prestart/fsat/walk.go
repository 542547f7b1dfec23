package fsat

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// maxWalkDepth bounds Walk (one open descriptor per level).
const maxWalkDepth = 256

// Entry is what Walk shows of one entry: Dir is its directory's open
// descriptor and Name its name there, so that whatever f does to it
// (fchownat, unlinkat, openat with O_NOFOLLOW) is done to this entry even
// if a name above it is swapped for a link meanwhile. Path is for
// messages.
type Entry struct {
	Dir  int
	Name string
	Path string
	Stat unix.Stat_t // lstat: a link is the link
}

// Walk calls f for the directory path itself (Dir the open directory,
// Name "") and every entry below it, directories before their content,
// following no link, crossing no mount (OpenDir). Entries that vanish
// meanwhile are skipped. For trees others can write to; root's helpers
// must never be led out of them.
func Walk(path string, f func(Entry) error) error {
	top, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(top)
	e := Entry{Dir: top, Path: path}
	if err := unix.Fstat(top, &e.Stat); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if err := f(e); err != nil {
		return err
	}
	return walkBelow(top, path, 0, f)
}

func walkBelow(dir int, path string, depth int, f func(Entry) error) error {
	if depth >= maxWalkDepth {
		return fmt.Errorf("%s: deeper than %d directories", path, maxWalkDepth)
	}
	list, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("list %s: %w", path, err)
	}
	names, err := ReadDirNames(list)
	unix.Close(list)
	if err != nil {
		return fmt.Errorf("list %s: %w", path, err)
	}
	for _, name := range names {
		e := Entry{Dir: dir, Name: name, Path: Child(path, name)}
		if err := unix.Fstatat(dir, name, &e.Stat, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("stat %s: %w", e.Path, err)
		}
		if err := f(e); err != nil {
			return err
		}
		if e.Stat.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		sub, err := OpenDir(dir, name)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", e.Path, err)
		}
		err = walkBelow(sub, e.Path, depth+1, f)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}

// At is the entry's path for *at(2) calls: its name, or "" with
// AT_EMPTY_PATH for the top directory.
func (e Entry) At(flags int) (string, int) {
	if e.Name == "" {
		return "", flags | unix.AT_EMPTY_PATH
	}
	return e.Name, flags
}

// TypeName names the file type of mode (a stat's st_mode) for messages.
func TypeName(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symbolic link"
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
