package steamcmd

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal for steamcmd's output. linux32/
// steamcmd writes through C stdio, which fully buffers a pipe: its
// progress then comes in 4 KiB bursts or only at its exit, and what is
// buffered when it is killed is lost. On a terminal stdio flushes each
// line. LinuxGSM runs it under expect's unbuffer (a pty) for that reason:
// "Unbuffer will allow the output of steamcmd not buffer allowing a
// smooth output" (lgsm/modules/core_dl.sh). Only output goes to the pty:
// stdin stays /dev/null, so a prompt can never wait for input. Output
// post-processing is off, so lines end as steamcmd wrote them.
func openPTY() (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	fail := func(what string, err error) (*os.File, *os.File, error) {
		unix.Close(mfd)
		return nil, nil, fmt.Errorf("pty %s: %w", what, err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return fail("unlock", err)
	}
	// TIOCGPTPEER opens the peer through the master, whichever devpts
	// instance /dev/pts is here.
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fail("peer", errno)
	}
	t, err := unix.IoctlGetTermios(int(sfd), unix.TCGETS)
	if err == nil {
		t.Oflag &^= unix.OPOST
		err = unix.IoctlSetTermios(int(sfd), unix.TCSETS, t)
	}
	if err != nil {
		unix.Close(int(sfd))
		return fail("termios", err)
	}
	return os.NewFile(uintptr(mfd), "steamcmd-pty"), os.NewFile(sfd, "steamcmd-tty"), nil
}
