package prestart

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/spec/layout"
)

// StoreConsole binds name's console socket below dir and gives it to the
// service manager at notifySocket, replacing the one of an earlier start.
func StoreConsole(dir, name, notifySocket string) error {
	if err := rootDirs(dir, name); err != nil {
		return err
	}
	path := layout.ConsoleSocket(dir, name)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("console socket: %w", err)
	}
	l.SetUnlinkOnClose(false) // it outlives us, in systemd's store
	defer l.Close()
	// The relay decides who may use it (SO_PEERCRED: root and
	// left4me-admin); the directories above decide who may replace it.
	if err := os.Chmod(path, 0o666); err != nil {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	f, err := l.File()
	if err != nil {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	defer f.Close()
	return notifyFDs(notifySocket, "FDSTOREREMOVE=1\nFDNAME="+layout.ConsoleFDName, "FDSTORE=1\nFDNAME="+layout.ConsoleFDName, f)
}

// rootDirs makes dir and dir/name directories owned by root, mode 0755,
// refusing a link or anything others can write on the way.
func rootDirs(dir, name string) error {
	for _, d := range []string{filepath.Dir(dir), dir, filepath.Join(dir, name)} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("console directory: %w", err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(d, &st); err != nil {
			return fmt.Errorf("console directory: %w", err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0 || st.Mode&0o022 != 0 {
			return fmt.Errorf("console directory %s: not a directory owned by root and writable by root only; refusing", d)
		}
	}
	return nil
}

// notifyFDs sends two sd_notify messages, the second with f attached.
func notifyFDs(socket, first, second string, f *os.File) error {
	if socket == "" {
		return errors.New("hand the console socket to systemd: NOTIFY_SOCKET is not set (NotifyAccess=exec)")
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("hand the console socket to systemd: %w", err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrUnix{Name: socket} // "@..." is abstract
	if err := unix.Sendmsg(fd, []byte(first), nil, to, 0); err != nil {
		return fmt.Errorf("hand the console socket to systemd: %w", err)
	}
	if err := unix.Sendmsg(fd, []byte(second), unix.UnixRights(int(f.Fd())), to, 0); err != nil {
		return fmt.Errorf("hand the console socket to systemd: %w", err)
	}
	return nil
}
