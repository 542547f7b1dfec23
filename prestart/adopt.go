package prestart

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// maxAdoptDepth bounds the walk of adopt: an upper layer deeper than this
// was not made by a game server.
const maxAdoptDepth = 128

// adopt hands the files of an instance's earlier user to its current one.
// A server's uid is allocated at each start (DynamicUser=): usually the
// same, from a hash of its user name, but another when that uid is taken,
// and the legacy shared user on an upgrade. dirfd is the upper layer (or
// the dumps) whose own owner was that earlier user; every entry below it
// owned by from (uid and gid apart) gets to (uid, gid). Files of other
// owners (root's, placed by an operator) stay theirs. The server is not
// running and no other server can reach the tree (runtime/NAME is root's
// alone), but nothing in it is trusted: no link is followed (fchownat with
// AT_SYMLINK_NOFOLLOW, directories opened O_NOFOLLOW).
func adopt(dirfd int, what string, from, to [2]int) (int, error) {
	if from[0] == 0 {
		return 0, fmt.Errorf("%s: refusing to hand root's files to the server", what)
	}
	n := 0
	if err := chownIf(dirfd, "", from, to, &n); err != nil {
		return n, fmt.Errorf("%s: %w", what, err)
	}
	err := adoptBelow(dirfd, what, from, to, 0, &n)
	return n, err
}

func adoptBelow(dirfd int, what string, from, to [2]int, depth int, n *int) error {
	if depth > maxAdoptDepth {
		return fmt.Errorf("%s: deeper than %d directories; not adopted", what, maxAdoptDepth)
	}
	list, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	names, err := fsat.ReadDirNames(list)
	unix.Close(list)
	if err != nil {
		return fmt.Errorf("list %s: %w", what, err)
	}
	for _, name := range names {
		p := fsat.Child(what, name)
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err := chownIf(dirfd, name, from, to, n); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			continue
		}
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", p, err)
		}
		err = chownIf(fd, "", from, to, n)
		if err == nil {
			err = adoptBelow(fd, p, from, to, depth+1, n)
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// chownIf gives name below dirfd ("" for dirfd itself) the uid and gid of
// to where it has those of from. chown clears set-user-ID and set-group-ID
// bits, as it should for a file changing hands.
func chownIf(dirfd int, name string, from, to [2]int, n *int) error {
	var st unix.Stat_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if name == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(dirfd, name, &st, flags); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	uid, gid := -1, -1
	if int(st.Uid) == from[0] {
		uid = to[0]
	}
	if from[1] != 0 && int(st.Gid) == from[1] {
		gid = to[1]
	}
	if uid == -1 && gid == -1 {
		return nil
	}
	if err := unix.Fchownat(dirfd, name, uid, gid, flags); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	*n++
	return nil
}
