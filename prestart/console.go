package prestart

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

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
	// Root and left4me-admin may connect, nobody else (connect(2) needs
	// write permission on the socket): neither another server nor a
	// local user can flood this relay with connections. The relay checks
	// the same (SO_PEERCRED); the directories above decide who may
	// replace the socket. Without the group (never created), root alone.
	if err := consoleOwner(path, layout.AdminGroup); err != nil {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	f, err := l.File()
	if err != nil {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	defer f.Close()
	return notifyFDs(notifySocket, "FDSTOREREMOVE=1\nFDNAME="+layout.ConsoleFDName, "FDSTORE=1\nFDNAME="+layout.ConsoleFDName, f)
}

// StoreNotify connects a datagram socket to the service manager's
// notification socket and gives it to the manager's store of the unit as
// layout.NotifyFDName, replacing the one of an earlier start: systemd passes
// it to the relay, the only process of the unit still able to reach the
// manager. l4d2@.service hides the socket's path from the server, because
// PID 1 logs a warning for every message it refuses (NotifyAccess=exec;
// service_notify_message_authorized(), src/core/service.c, systemd 252),
// with no rate limit of its own: a server sending thousands a second would
// use up journald's rate limit for PID 1, whose messages about every other
// unit would then be suppressed. A connected socket needs no path: the
// kernel names the sender (SCM_CREDENTIALS) at each send, and that is the
// relay, the main process, whoever connected it.
func StoreNotify(notifySocket string) error {
	if notifySocket == "" {
		return errNoNotifySocket
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("notification socket for the relay: %w", err)
	}
	f := os.NewFile(uintptr(fd), "notify")
	defer f.Close()
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: notifySocket}); err != nil { // "@..." is abstract
		return fmt.Errorf("notification socket for the relay: connect %s: %w", notifySocket, err)
	}
	// FDPOLL=0: systemd drops a stored descriptor that polls as hung up
	// or in error; this one is the relay's only way to the manager.
	return notifyFDs(notifySocket, "FDSTOREREMOVE=1\nFDNAME="+layout.NotifyFDName, "FDSTORE=1\nFDPOLL=0\nFDNAME="+layout.NotifyFDName, f)
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

var errNoNotifySocket = errors.New("hand a socket to systemd: NOTIFY_SOCKET is not set (NotifyAccess=exec)")

// notifyFDs sends two sd_notify messages, the second with f attached.
func notifyFDs(socket, first, second string, f *os.File) error {
	if socket == "" {
		return errNoNotifySocket
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("hand a socket to systemd (%s): %w", socket, err)
	}
	defer unix.Close(fd)
	to := &unix.SockaddrUnix{Name: socket} // "@..." is abstract
	if err := unix.Sendmsg(fd, []byte(first), nil, to, 0); err != nil {
		return fmt.Errorf("hand a socket to systemd (%s): %w", socket, err)
	}
	if err := unix.Sendmsg(fd, []byte(second), unix.UnixRights(int(f.Fd())), to, 0); err != nil {
		return fmt.Errorf("hand a socket to systemd (%s): %w", socket, err)
	}
	return nil
}

// consoleOwner gives the socket at path to root and group, mode 0660, or
// to root alone (0600) on a host without the group.
func consoleOwner(path, group string) error {
	g, err := user.LookupGroup(group)
	if err != nil {
		var unknown user.UnknownGroupError
		if !errors.As(err, &unknown) {
			return fmt.Errorf("group %s: %w", group, err)
		}
		return os.Chmod(path, 0o600)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return fmt.Errorf("group %s: gid %q", group, g.Gid)
	}
	if err := os.Lchown(path, 0, gid); err != nil {
		return err
	}
	return os.Chmod(path, 0o660)
}
