package prestart

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/specfile"
)

// lookupUser finds name in passwd (/etc/passwd), as os/user does when built
// without cgo, which is how left4me is built. The server user is a system
// user made by systemd-sysusers, so it is always in that file. Not using
// os/user keeps its package set out of the helpers, which start before
// every server start.
func lookupUser(passwd, name string) (uid, gid int, err error) {
	fd, err := unix.Open(passwd, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, &os.PathError{Op: "open", Path: passwd, Err: err}
	}
	defer unix.Close(fd)
	data, err := specfile.ReadFD(fd, 0, 64<<20) // a big directory-synced passwd fits
	if err != nil {
		return 0, 0, &os.PathError{Op: "read", Path: passwd, Err: err}
	}
	prefix := []byte(name + ":")
	for line := range bytes.Lines(data) {
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		// name:password:UID:GID:gecos:home:shell
		f := bytes.SplitN(bytes.TrimRight(line, "\n"), []byte(":"), 5)
		if len(f) < 5 {
			return 0, 0, fmt.Errorf("%s: malformed entry for %s", passwd, name)
		}
		uid, err1 := strconv.Atoi(string(f[2]))
		gid, err2 := strconv.Atoi(string(f[3]))
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return 0, 0, fmt.Errorf("%s: malformed uid or gid for %s", passwd, name)
		}
		return uid, gid, nil
	}
	return 0, 0, fmt.Errorf("unknown user %s (not in %s)", name, passwd)
}
