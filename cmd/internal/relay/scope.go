package relay

import (
	"fmt"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// scopeABI is the first Landlock ABI with scopes (Linux 6.12): a process
// in a domain may then neither signal a process outside it
// (LANDLOCK_SCOPE_SIGNAL, which also covers SIGIO sent through
// F_SETOWN) nor connect or send to an abstract unix socket made outside
// it (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET). Documentation/userspace-api/
// landlock.rst, "Scoping" and "ABI versions".
const scopeABI = 6

// Scope says how the server's processes are fenced off from the rest of
// the host beyond what the unit's sandbox does.
type Scope struct {
	ABI    int  // the kernel's Landlock ABI; 0: none
	Scoped bool // the server runs in a scoped domain
	// Err is why it does not, when the kernel has scopes.
	Err error
	// Missing is why there is no ABI: ENOSYS (not built), EOPNOTSUPP
	// (not enabled at boot), EPERM (a seccomp filter refused the call).
	Missing error
}

// Note is the relay's line about how the server runs: a warning unless
// it is Scoped, so that an operator can tell either way.
func (s Scope) Note() string {
	switch {
	case s.Scoped:
		return fmt.Sprintf("landlock: the server can neither signal its relay nor reach abstract unix sockets outside it (ABI %d)", s.ABI)
	case s.Err != nil:
		return fmt.Sprintf("landlock: %v: the server can signal its relay and reach abstract unix sockets outside it", s.Err)
	case s.ABI == 0:
		return fmt.Sprintf("landlock: not available (%v): the server can signal its relay and reach abstract unix sockets outside it", s.Missing)
	}
	return fmt.Sprintf("landlock: this kernel's ABI %d has no scopes (ABI %d, Linux 6.12): the server can signal its relay and reach abstract unix sockets outside it", s.ABI, scopeABI)
}

// landlockABI is the kernel's Landlock ABI version, or 0 and why not.
func landlockABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

// scopeThread puts the calling thread, and so every process it forks
// from now on, in a new Landlock domain scoped for signals and abstract
// unix sockets. It handles no file system or network access: the unit's
// mount namespace and the relay's socket count do that.
func scopeThread(abi int) error {
	// The struct as ABI 6 knows it: x/sys's has later fields, which a
	// kernel accepts only while zero (copy_struct_from_user); none needed.
	attr := unix.LandlockRulesetAttr{Scoped: unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET}
	size := unsafe.Offsetof(attr.Scoped) + unsafe.Sizeof(attr.Scoped)
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("create a ruleset (ABI %d): %w", abi, errno)
	}
	defer unix.Close(int(fd))
	// Landlock requires no_new_privs (or CAP_SYS_ADMIN); systemd has set it
	// (NoNewPrivileges=yes), and it is per thread as the domain is.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("restrict (ABI %d): %w", abi, errno)
	}
	return nil
}

// startScoped starts cmd in a scoped Landlock domain where the kernel has
// one, the relay itself staying outside it: so a plugin can neither stop
// the relay (SIGSTOP would end its socket count and console until the
// watchdog fires) nor reach another server's or a host daemon's abstract
// unix sockets, which live in the network namespace all servers share.
// landlock_restrict_self binds only the calling thread, and a child
// inherits its forking thread's credentials: the fork happens on a
// thread locked for the purpose, which is never unlocked, so that Go
// ends it rather than run other goroutines in the domain. A kernel
// without scopes starts cmd as before; Scope says which happened.
func startScoped(cmd *exec.Cmd) (Scope, error) {
	done := make(chan scoped, 1)
	go forkScoped(cmd, done)
	r := <-done
	return r.scope, r.err
}

type scoped struct {
	scope Scope
	err   error
}

// forkScoped starts cmd from a thread of its own, restricted (startScoped).
// Never the main thread: Go does not end it but parks it for good, in the
// domain, and the server may signal a relay thread in its own domain: a
// kill of the relay's PID is checked against that thread, the leader
// (and a SIGSTOP to any thread stops them all).
func forkScoped(cmd *exec.Cmd, done chan<- scoped) {
	runtime.LockOSThread() // never unlocked, see startScoped
	if unix.Gettid() == unix.Getpid() {
		// Held here until the fork is done, so that the other goroutine
		// cannot run on it; then clean, and given back.
		inner := make(chan scoped, 1)
		go forkScoped(cmd, inner)
		r := <-inner
		runtime.UnlockOSThread()
		done <- r
		return
	}
	var s Scope
	s.ABI, s.Missing = landlockABI()
	if s.ABI >= scopeABI {
		if s.Err = scopeThread(s.ABI); s.Err == nil {
			s.Scoped = true
		}
	}
	done <- scoped{s, cmd.Start()}
}
