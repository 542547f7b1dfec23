package prestart

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// hostMountNS is the mount namespace the overlay must live in: PID 1's,
// where the server's own (sandboxed) namespace is cloned from at its start
// and where the stop helper finds the mount again.
const hostMountNS = "/proc/1/ns/mnt"

// InHostMountNS runs fn in PID 1's mount namespace. systemd gives even the
// "+" helpers a namespace of their own when the unit uses PrivateTmp= or
// other sandboxing, and a mount made there would vanish with the helper.
// fn runs on one locked OS thread that has left the process's shared
// filesystem context; it must not hand work to other goroutines.
func InHostMountNS(fn func() error) error {
	same, err := sameMountNS()
	if err != nil || same {
		// Not root (a preview) or already there: nothing to join.
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine instead of
		// going back to the scheduler in a foreign namespace.
		runtime.LockOSThread()
		errc <- joinAndRun(fn)
	}()
	return <-errc
}

func joinAndRun(fn func() error) error {
	// setns(CLONE_NEWNS) refuses a thread that shares its root and cwd with
	// others, as every Go thread does until this.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("join host mount namespace: unshare: %w", err)
	}
	fd, err := unix.Open(hostMountNS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("join host mount namespace: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join host mount namespace %s: %w", hostMountNS, err)
	}
	return fn()
}

func sameMountNS() (bool, error) {
	self, err := os.Stat("/proc/self/ns/mnt")
	if err != nil {
		return false, err
	}
	host, err := os.Stat(hostMountNS)
	if err != nil {
		return false, err
	}
	return os.SameFile(self, host), nil
}
