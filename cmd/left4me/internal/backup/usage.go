package backup

import "golang.org/x/sys/unix"

// Usage is the disk space runtime (runtime/NAME)'s upper/ takes, counted
// through descriptors as a backup reads it (no link followed, no other
// filesystem entered). A tree that changes meanwhile gives an estimate.
func Usage(runtime string) (int64, error) {
	rt, err := unix.Open(runtime, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(rt)
	up, err := openDir(rt, "upper")
	if err != nil {
		return 0, err
	}
	defer unix.Close(up)
	return usage(up, 0)
}

func usage(fd, depth int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	total := st.Blocks * 512
	if depth > maxDepth {
		return total, nil
	}
	names, err := readNames(fd)
	if err != nil {
		return total, err
	}
	for _, n := range names {
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			total += st.Blocks * 512
			continue
		}
		sub, err := openDir(fd, n)
		if err != nil {
			continue // replaced meanwhile, or a mount
		}
		s, _ := usage(sub, depth+1)
		unix.Close(sub)
		total += s
	}
	return total, nil
}
