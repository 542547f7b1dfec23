package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// The process chain. Debian's /usr/games/steamcmd is a /bin/sh wrapper
// that copies steamcmd.sh and linux32/steamcmd into the user's Steam
// directory on a first run and then ends in `exec .../steamcmd.sh "$@"`
// (Alexandre Detiste's wrapper of 2015, MIT, as repackaged in ALT's
// eepm; later versions root it in XDG_DATA_HOME, see steamRoot): the
// wrapper adds no process. Valve's steamcmd.sh (the tarball's; copies in
// Pricetx/Scripts steamcmd.sh and many images) runs the 32-bit
// linux32/steamcmd as a CHILD, not by exec: `$DEBUGGER "$STEAMEXE" "$@"`,
// then `STATUS=$?`, `exec "$0" "$@"` when STATUS is 42
// (MAGIC_RESTART_EXITCODE, the binary updated itself), else `exit
// $STATUS`. So the caller's child is bash; the binary is its child:
//
//   - a signal sent to the caller's child reaches bash alone. bash has no
//     trap: SIGTERM and SIGHUP end it at once and the binary runs on,
//     orphaned; SIGINT it defers until the binary ends (bash's wait and
//     cooperative exit), then dies of it if the binary did.
//   - PR_SET_PDEATHSIG set for the caller's child is kept by bash across
//     exec but cleared in the binary by fork (prctl(2)).
//   - the binary's death by signal N becomes bash's exit status 128+N.
//   - fds the caller gave (the script's fd 3) are inherited by both.
//
// The stand-in plays both: started without roleEnv it is steamcmd.sh and
// starts itself with roleEnv=binary as linux32/steamcmd.
const roleEnv = "STEAMCMD_STANDIN_ROLE"

// restartCode is steamcmd.sh's MAGIC_RESTART_EXITCODE.
const restartCode = 42

// shellMain is steamcmd.sh.
func shellMain() int {
	exe, err := os.Executable()
	if err != nil {
		os.Stderr.WriteString("standin steamcmd.sh: " + err.Error() + "\n")
		return 1
	}
	ints := make(chan os.Signal, 1)
	signal.Notify(ints, os.Interrupt) // a handler: the binary gets the default
	if os.Getpid() == 1 {
		// Init of a PID namespace: the kernel drops the signals bash has
		// no handler for, SIGTERM and SIGHUP among them, even from the
		// parent namespace (pid_namespaces(7)); bash waits on. (Go would
		// otherwise catch them and exit.)
		signal.Notify(make(chan os.Signal, 4), syscall.SIGTERM, syscall.SIGHUP)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = filepath.Join(filepath.Dir(exe), "linux32", "steamcmd")
	cmd.Env = append(os.Environ(), roleEnv+"=binary")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = inheritedFiles()
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		os.Stderr.WriteString("standin steamcmd.sh: " + err.Error() + "\n")
		return 1
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGINT && len(ints) > 0:
		signal.Reset(os.Interrupt)
		unix.Kill(os.Getpid(), unix.SIGINT)
		select {}
	case ws.Signaled():
		return 128 + int(ws.Signal())
	case ws.ExitStatus() == restartCode:
		// exec "$0" "$@": same process, same fds.
		err := syscall.Exec(exe, os.Args, os.Environ())
		os.Stderr.WriteString("standin steamcmd.sh: exec: " + err.Error() + "\n")
		return 1
	}
	return ws.ExitStatus()
}

// inheritedFiles are the descriptors above 2 this process was given
// (without close-on-exec: Go's own have it), as ExtraFiles: bash passes
// them to the binary.
func inheritedFiles() []*os.File {
	var files []*os.File
	last := -1
	for fd := 3; fd < 64; fd++ {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			files = append(files, nil)
			continue
		}
		files = append(files, os.NewFile(uintptr(fd), "inherited"))
		last = len(files) - 1
	}
	return files[:last+1]
}

// binaryMain is linux32/steamcmd. SIGPIPE is ignored, and write errors
// too: no source says what the binary does when its reader is gone; the
// harsh guess is that it downloads on (network code commonly ignores
// SIGPIPE). SIGTERM keeps its default (no source either way). Its
// stdout, when a pipe, is fully buffered
// in 4 KiB blocks as glibc's stdio does for a pipe: LinuxGSM runs it
// under expect's unbuffer because "Unbuffer will allow the output of
// steamcmd not buffer allowing a smooth output" (lgsm/modules/
// core_dl.sh). Progress comes late and in bursts; what is still
// buffered when the binary is killed is lost; a line is written at a
// block boundary, so a read may end mid-line. A terminal gets lines.
func binaryMain() int {
	signal.Ignore(syscall.SIGPIPE)
	var out io.Writer = os.Stdout
	var buf *bufio.Writer
	if !isTerminal(os.Stdout) {
		buf = bufio.NewWriterSize(os.Stdout, 4096)
		out = buf
	}
	code := run(os.Args, out, os.Getenv)
	if buf != nil {
		buf.Flush()
	}
	return code
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// selfUpdate is the bootstrap's update of steamcmd itself on a first run
// (no linux32/steamclient.so yet below steamcmdDir, where the Debian
// wrapper put steamcmd) or when depot/selfupdate exists (an
// outdated steamcmd; the file is used up). The lines are those of
// CM2Walki/CSGO#97 and timche/docker-csgo#20: the update, then
// "Update complete, launching Steamcmd..." and, under steamcmd.sh, exit
// 42 so that the script starts it again; the new run checks once more and
// "Verifying installation...". Run without steamcmd.sh (the unit tests
// call run directly) it goes on in the same process. Returns true when
// the process is to exit with restartCode.
func (s *session) selfUpdate(underShell bool) bool {
	s.printf("[  0%%] Checking for available updates...")
	flag := filepath.Join(s.depot, "selfupdate")
	_, outdated := os.Stat(flag)
	p := filepath.Join(s.steamcmdDir(), "linux32", "steamclient.so")
	_, missing := os.Stat(p)
	if s.home == "" || missing == nil && outdated != nil {
		s.printf("[----] Verifying installation...")
		return false
	}
	s.printf("[----] Verifying installation...")
	s.printf("[  0%%] Downloading update...")
	s.printf("[----] Download complete.")
	s.printf("[----] Extracting package...")
	s.printf("[----] Installing update...")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("standin steamclient.so\n"), 0o755)
	os.Remove(flag)
	s.printf("[----] Cleaning up...")
	s.printf("[----] Update complete, launching Steamcmd...")
	s.logf("selfupdate: updated, restart=%v", underShell)
	if underShell {
		return true
	}
	s.printf("Redirecting stderr to '%s/logs/stderr.txt'", s.root)
	s.printf("[  0%%] Checking for available updates...")
	s.printf("[----] Verifying installation...")
	return false
}

// debianWrapper does what Debian's /usr/games/steamcmd does before it
// runs steamcmd.sh (package steamcmd 0~20180105-5, bookworm, read from
// the .deb): unless HOME/.steam exists, it makes it with two links to the
// Steam root, root and steam ("create a fake Steam installation to avoid
// that steamcmd uses /home/$user/Steam instead"). So steamcmd's HOME
// holds links whoever reads it as root must not follow.
func (s *session) debianWrapper() {
	if s.home == "" {
		return
	}
	dot := filepath.Join(s.home, ".steam")
	if _, err := os.Lstat(dot); err == nil {
		return
	}
	if os.MkdirAll(dot, 0o755) != nil {
		return
	}
	os.Symlink(s.root, filepath.Join(dot, "root"))
	os.Symlink(s.root, filepath.Join(dot, "steam"))
}

// steamcmdDir is where the wrapper put steamcmd: HOME/.steam/steamcmd on
// an install from before 0~20180105-4 ("if [ -e ~/.steam/steamcmd ]"),
// else ROOT/steamcmd.
func (s *session) steamcmdDir() string {
	old := filepath.Join(s.home, ".steam", "steamcmd")
	if _, err := os.Stat(old); err == nil {
		return old
	}
	return filepath.Join(s.root, "steamcmd")
}
