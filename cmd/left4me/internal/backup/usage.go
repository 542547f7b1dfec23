package backup

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"
)

// Usage is the disk space runtime (runtime/NAME)'s upper/ takes, counted
// through descriptors as a backup reads it (no link followed, no other
// filesystem entered). A tree that changes meanwhile gives an estimate.
func Usage(runtime string) (int64, error) {
	u, err := usageOf(context.Background(), runtime)
	return u.bytes, err
}

// entryCost bounds what an entry adds to a backup beyond its blocks: a
// tar header (512 bytes), a PAX header and its records (1024: a long
// name, an xattr, a sparse map) and 512 bytes of data that take no block
// of their own (ext4's inline data holds 60; btrfs inlines up to 2 KiB,
// which gzip's ten to one and more on the headers makes up for).
const entryCost = 2 << 10

// Measured is what a backup of runtime's upper/ would meet, measured
// before it is taken (Measure).
type Measured struct {
	// Estimate is what the backup takes at most: the data as Usage counts
	// it (a block at least holds what a file stores, holes are not data)
	// and entryCost an entry. gzip adds about 5 bytes in 64 KiB to data
	// it cannot compress; the margin of the caller's check covers that
	// and what the server writes meanwhile.
	Estimate int64
	Data     int64 // blocks, in bytes: the data stored, about
	Length   int64 // the regular files' lengths together, holes included
	Deep     bool  // it goes deeper than maxDepth
}

// Measure walks runtime's upper/ as Usage does, stopping when ctx ends.
func Measure(ctx context.Context, runtime string) (Measured, error) {
	u, err := usageOf(ctx, runtime)
	return Measured{Estimate: u.bytes + u.entries*entryCost, Data: u.bytes, Length: u.length, Deep: u.deep}, err
}

// Refusal is why a backup of what m measured would be refused, nil when
// it would not: the bounds Create holds it to (DefaultMaxBytes,
// DefaultMaxLength, maxDepth), told before a server is stopped for it.
func (m Measured) Refusal() error {
	switch {
	case m.Deep:
		return fmt.Errorf("the upper layer goes more than %d directories deep, which a backup refuses", maxDepth)
	case m.Length > DefaultMaxLength:
		return fmt.Errorf("the upper layer's files are %d bytes long together, holes of sparse files included, more than the %d a backup takes (a restore reads every hole back)", m.Length, DefaultMaxLength)
	case m.Data > DefaultMaxBytes:
		return fmt.Errorf("the upper layer holds about %d bytes of data, more than the %d a backup takes", m.Data, DefaultMaxBytes)
	}
	return nil
}

func usageOf(ctx context.Context, runtime string) (counted, error) {
	var u counted
	rt, err := unix.Open(runtime, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return u, err
	}
	defer unix.Close(rt)
	up, err := openDir(rt, "upper")
	if err != nil {
		return u, err
	}
	defer unix.Close(up)
	u.ctx = ctx
	err = u.walk(up, 0)
	return u, err
}

// counted is what a walk of a tree found: blocks in bytes, entries, the
// regular files' lengths, and whether it goes deeper than maxDepth.
type counted struct {
	ctx                    context.Context
	bytes, entries, length int64
	deep                   bool
}

func (u *counted) walk(fd, depth int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	u.bytes += st.Blocks * 512
	u.entries++
	if depth > maxDepth {
		u.deep = true
		return nil
	}
	if err := u.ctx.Err(); err != nil {
		return err
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
			if st.Mode&unix.S_IFMT == unix.S_IFREG {
				u.length += st.Size
			}
			continue
		}
		sub, err := openDir(fd, n)
		if err != nil {
			continue // replaced meanwhile, or a mount
		}
		err = u.walk(sub, depth+1)
		unix.Close(sub)
		if cerr := u.ctx.Err(); cerr != nil {
			return cerr
		}
		_ = err // a subtree that changed meanwhile: an estimate
	}
	return nil
}
