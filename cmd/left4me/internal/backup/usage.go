package backup

import "golang.org/x/sys/unix"

// Usage is the disk space runtime (runtime/NAME)'s upper/ takes, counted
// through descriptors as a backup reads it (no link followed, no other
// filesystem entered). A tree that changes meanwhile gives an estimate.
func Usage(runtime string) (int64, error) {
	n, _, err := usageOf(runtime)
	return n, err
}

// entryCost bounds what an entry adds to a backup beyond its blocks: a
// tar header (512 bytes), a PAX header and its records (1024: a long
// name, an xattr, a sparse map) and 512 bytes of data that take no block
// of their own (ext4's inline data holds 60; btrfs inlines up to 2 KiB,
// which gzip's ten to one and more on the headers makes up for).
const entryCost = 2 << 10

// Estimate is what a backup of runtime's upper/ takes at most: the data
// as Usage counts it (a block at least holds what a file stores, holes
// are not data) and entryCost an entry. gzip adds about 5 bytes in 64 KiB
// to data it cannot compress; the margin of the caller's check covers
// that and what the server writes meanwhile.
func Estimate(runtime string) (int64, error) {
	n, entries, err := usageOf(runtime)
	return n + entries*entryCost, err
}

func usageOf(runtime string) (bytes, entries int64, err error) {
	rt, err := unix.Open(runtime, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(rt)
	up, err := openDir(rt, "upper")
	if err != nil {
		return 0, 0, err
	}
	defer unix.Close(up)
	var u counted
	err = u.walk(up, 0)
	return u.bytes, u.entries, err
}

// counted is what a walk of a tree found: blocks in bytes, and entries.
type counted struct{ bytes, entries int64 }

func (u *counted) walk(fd, depth int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	u.bytes += st.Blocks * 512
	u.entries++
	if depth > maxDepth {
		return nil
	}
	names, err := readNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			u.bytes += st.Blocks * 512
			u.entries++
			continue
		}
		sub, err := openDir(fd, n)
		if err != nil {
			continue // replaced meanwhile, or a mount
		}
		_ = u.walk(sub, depth+1)
		unix.Close(sub)
	}
	return nil
}
