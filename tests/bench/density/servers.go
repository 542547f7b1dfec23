package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// server is one running stand-in.
type server struct {
	cmd  *exec.Cmd
	port int
	out  *bytes.Buffer
	view string // the bind mount it runs in, "" when none
}

// startServer starts the stand-in engine in dir as srcds_run would
// (LD_LIBRARY_PATH=.:bin, the default map) and as l4d2@.service does
// (-strictportbind, the server's user). Like the unit, which binds the
// merged tree into the server's namespace, it runs the server in a bind
// mount of dir: runtime/NAME above it is root's alone (0700).
func startServer(dir string, port, uid, gid int) (*server, error) {
	view, err := os.MkdirTemp("", "density-view-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(view, 0o755); err != nil {
		return nil, err
	}
	if err := syscall.Mount(dir, view, "", syscall.MS_BIND, ""); err != nil {
		_ = os.Remove(view)
		return nil, fmt.Errorf("bind %s on %s: %w", dir, view, err)
	}
	dir = view
	// The whole port set, as units.Command passes it: the engine's default
	// client and Steam ports would collide between the servers.
	cmd := exec.Command(filepath.Join(dir, "srcds_linux"), "-game", "left4dead2", "-strictportbind", "-port", strconv.Itoa(port),
		"+clientport", strconv.Itoa(port+1000), "-nohltv", "-steamport", strconv.Itoa(port+2000), "+map", "c1m1_hotel")
	cmd.Dir = dir
	cmd.Env = []string{"LD_LIBRARY_PATH=.:bin", "HOME=/nonexistent", "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Setpgid: true}
	s := &server{cmd: cmd, port: port, out: &bytes.Buffer{}, view: view}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		s.unbind()
		return nil, fmt.Errorf("start server in %s: %w", dir, err)
	}
	return s, nil
}

// unbind removes the server's bind mount.
func (s *server) unbind() {
	if s.view != "" {
		_ = syscall.Unmount(s.view, syscall.MNT_DETACH)
		_ = os.Remove(s.view)
		s.view = ""
	}
}

// wait returns once the server answers A2S_INFO, as the start probe
// waits: it has mapped and read the game files by then.
func (s *server) wait(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := a2s.Query(ctx, "127.0.0.1:"+strconv.Itoa(s.port))
		cancel()
		if err == nil {
			return nil
		}
		if s.cmd.ProcessState != nil {
			break
		}
	}
	return fmt.Errorf("server %d on port %d did not answer within %v", s.cmd.Process.Pid, s.port, timeout)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.unbind()
}

// meminfo holds the /proc/meminfo fields the report uses, in KiB.
type meminfo map[string]int64

func readMeminfo() (meminfo, error) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return nil, err
	}
	m := meminfo{}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			m[strings.TrimSuffix(f[0], ":")] = v
		}
	}
	return m, nil
}

// rollup sums fields of /proc/PID/smaps_rollup over pids, in KiB.
func rollup(pids []int, fields ...string) (map[string]int64, error) {
	sum := map[string]int64{}
	for _, pid := range pids {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
		if err != nil {
			return nil, err
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			f := strings.Fields(line)
			for _, want := range fields {
				if len(f) >= 2 && f[0] == want+":" {
					v, _ := strconv.ParseInt(f[1], 10, 64)
					sum[want] += v
				}
			}
		}
	}
	return sum, nil
}

// dropCaches empties the page cache (clean pages only: sync first), so
// every measurement starts from the same cold state.
func dropCaches() error {
	syscall.Sync()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200); err != nil {
		return fmt.Errorf("drop caches: %w", err)
	}
	time.Sleep(500 * time.Millisecond)
	return nil
}
