package steamcmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/safepath"
)

// Config says how to run steamcmd.
type Config struct {
	Path string // the steamcmd executable (Debian: /usr/games/steamcmd)
	// Home is steamcmd's HOME: it keeps its own files and a cached login
	// there, so it must be private to root. Created 0700 when missing.
	Home string
	Env  []string // the environment besides HOME; nil means none
}

// Candidates are where steamcmd is looked for when no path is given.
func Candidates() []string {
	return []string{"/usr/games/steamcmd", "/usr/bin/steamcmd", "/opt/steamcmd/steamcmd.sh"}
}

// Find returns path when set, else steamcmd from PATH or Candidates.
func Find(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if p, err := exec.LookPath("steamcmd"); err == nil {
		return p, nil
	}
	for _, p := range Candidates() {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("steamcmd not found in PATH nor at %s: install it (Debian: enable non-free, `dpkg --add-architecture i386`, `apt-get install steamcmd`) or pass --steamcmd PATH (or set LEFT4ME_STEAMCMD)", strings.Join(Candidates(), ", "))
}

// Check refuses, when we run as root, a steamcmd at path that others
// could change (safepath.Check): root runs it, so whoever could change it
// would run code as root.
func Check(path string) error {
	if os.Geteuid() != 0 {
		return nil // a user runs what they may change anyway
	}
	_, err := safepath.Check(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return notFound(path)
	case err != nil:
		return fmt.Errorf("steamcmd not run: %w", err)
	}
	return nil
}

func notFound(path string) error {
	return fmt.Errorf("steamcmd %s: not found: install it or pass --steamcmd PATH", path)
}

// scriptFD is the descriptor number the script has in steamcmd.
const scriptFD = 3

// stopGrace is how long steamcmd gets after SIGTERM before SIGKILL.
const stopGrace = 10 * time.Second

// Run runs steamcmd on script and reports each output line, with secret
// replaced by ***, to onLine. The script goes to steamcmd as a memfd
// inherited as fd 3 (+runscript /proc/self/fd/3): a password in it is
// never in argv (visible to every user in /proc/PID/cmdline) nor in a file
// on disk; only root and steamcmd itself can open the descriptor. The
// error is nil only if steamcmd exited 0; the Result says whether it also
// reported success (it has exited 0 after failures).
func Run(ctx context.Context, c Config, script, secret string, onLine func(string)) (Result, error) {
	var res Result
	if err := Check(c.Path); err != nil {
		return res, err
	}
	if err := os.MkdirAll(c.Home, 0o700); err != nil {
		return res, fmt.Errorf("steamcmd home %s: %w", c.Home, err)
	}
	if err := os.Chmod(c.Home, 0o700); err != nil {
		return res, fmt.Errorf("steamcmd home %s: %w", c.Home, err)
	}
	mf, err := memfd(script)
	if err != nil {
		return res, err
	}
	defer mf.Close()
	// Output through a pty (openPTY says why), or a pipe where none can
	// be had: then progress comes late, but it comes.
	pr, pw, err := openPTY()
	if err != nil {
		if pr, pw, err = os.Pipe(); err != nil {
			return res, fmt.Errorf("steamcmd output pipe: %w", err)
		}
	}
	defer pr.Close()
	start := func(flags uintptr) (*exec.Cmd, error) {
		cmd := exec.Command(c.Path, "+runscript", fmt.Sprintf("/proc/self/fd/%d", scriptFD))
		cmd.Env = append(withoutHome(c.Env), "HOME="+c.Home)
		cmd.Dir = c.Home
		cmd.Stdout, cmd.Stderr = pw, pw
		cmd.ExtraFiles = []*os.File{mf} // becomes fd 3
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Cloneflags: flags}
		return cmd, cmd.Start()
	}
	// Its own process group: steamcmd.sh runs the real binary as a child,
	// and a stop must reach both. Its own PID namespace, of which
	// steamcmd.sh is init, with Pdeathsig: should we be killed (kill -9,
	// OOM), steamcmd must not write on into a staging directory the next
	// update removes. Pdeathsig alone reaches steamcmd.sh only: bash does
	// not pass it on and the binary below is not its child's child
	// (prctl(2): cleared by fork); orphaned, the binary writes on, and on
	// the pty even its output fails with EIO, not SIGPIPE. When a
	// namespace's init dies, the kernel kills every process in it. As
	// init, bash also ignores the SIGTERM of a stop (pid_namespaces(7):
	// init gets only the signals it has a handler for) and waits for the
	// binary, which the SIGTERM does reach: stopGrace is the binary's,
	// where before bash died at once and the SIGKILL that followed gave
	// the binary no grace at all.
	cmd, err := start(syscall.CLONE_NEWPID)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) {
		// No new PID namespace without CAP_SYS_ADMIN: as before.
		cmd, err = start(0)
	}
	if err != nil {
		pw.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return res, notFound(c.Path)
		}
		return res, fmt.Errorf("start steamcmd %s: %w", c.Path, err)
	}
	pw.Close()
	mf.Close() // steamcmd holds its own copy
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		eachLine(pr, func(l string) {
			l = Redact(l, secret)
			res.Observe(l)
			if onLine != nil {
				onLine(l)
			}
		})
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		pgid := cmd.Process.Pid
		unix.Kill(-pgid, unix.SIGTERM)
		select {
		case <-waited:
		case <-time.After(stopGrace):
			unix.Kill(-pgid, unix.SIGKILL)
			<-waited
		}
		werr = fmt.Errorf("steamcmd stopped: %w", ctx.Err())
	}
	// Whatever steamcmd left running in its group would hold the pipe open.
	unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	<-lines
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			return res, fmt.Errorf("steamcmd exited with status %d: %s", ee.ExitCode(), res.Summary())
		}
		return res, werr
	}
	return res, nil
}

// eachLine splits r at \n and at \r (steamcmd redraws some lines with \r).
func eachLine(r io.Reader, fn func(string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		for i, b := range data {
			if b == '\n' || b == '\r' {
				return i + 1, data[:i], nil
			}
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" {
			fn(l)
		}
	}
	io.Copy(io.Discard, r) // a line over the limit: drain so steamcmd never blocks
}

// memfd returns an anonymous in-memory file holding s.
func memfd(s string) (*os.File, error) {
	fd, err := unix.MemfdCreate("left4me-steamcmd-script", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd for the steamcmd script: %w", err)
	}
	f := os.NewFile(uintptr(fd), "steamcmd-script")
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return nil, fmt.Errorf("write the steamcmd script: %w", err)
	}
	return f, nil
}

func withoutHome(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		// XDG_DATA_HOME would move Debian's Steam root (and its app
		// info cache, see AppInfoCache) out of HOME.
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "CREDENTIALS_DIRECTORY=") && !strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			out = append(out, kv)
		}
	}
	return out
}

// Dir is the directory of the steamcmd executable after links, where a
// tarball install keeps linux32/steamclient.so.
func Dir(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	return filepath.Dir(path)
}
