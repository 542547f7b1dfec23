package prestart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/syncbuf"
	"github.com/left4me/left4me/tests/testroot"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

// The server's user in these tests; any non-root id works.
const testUID, testGID = 65534, 65534

type env struct {
	c    Config
	log  *bytes.Buffer
	root string
}

func mk(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

// newEnv lays out an installation, two overlays and a spec:
// top (alias top) over plain over the installation.
func newEnv(t *testing.T, specText string) *env {
	t.Helper()
	testroot.Require(t, "to mount overlayfs")
	return newEnvIn(t, t.TempDir(), specText)
}

// newEnvIn is newEnv with its state root at base/state (a filesystem the
// test mounted there, or a directory).
func newEnvIn(t *testing.T, base, specText string) *env {
	t.Helper()
	e := &env{root: filepath.Join(base, "state"), log: &bytes.Buffer{}}
	e.c = Config{Layout: layout.Layout{ConfigDir: filepath.Join(base, "etc"), Root: e.root}, UID: testUID, GID: testGID, Log: e.log}
	mk(t, filepath.Join(e.root, "installation/srcds_linux"), "#!/bin/sh\n", 0o755)
	mk(t, filepath.Join(e.root, "installation/left4dead2/who.txt"), "installation", 0o644)
	mk(t, filepath.Join(e.root, "installation/left4dead2/base.txt"), "base", 0o644)
	mk(t, filepath.Join(e.root, "overlays/plain/left4dead2/who.txt"), "plain", 0o644)
	mk(t, filepath.Join(e.root, "overlays/plain/left4dead2/cfg/server.cfg"), "plain cfg", 0o644)
	mk(t, filepath.Join(e.root, "overlays/top/left4dead2/who.txt"), "top", 0o644)
	mk(t, filepath.Join(e.root, "overlays/top/left4dead2/cfg/server.cfg"), "sv_top 1\n", 0o644)
	if specText == "" {
		specText = "port: 27015\nconfig: [\"hostname test\"]\noverlays: [{path: top, alias: top}, plain]\n"
	}
	mk(t, e.c.Layout.SpecPath("srv"), specText, 0o644)
	t.Cleanup(func() { _, _ = rundir.Unmount(e.c.Layout.MergedDir("srv")) })
	return e
}

func (e *env) path(rel string) string { return filepath.Join(e.root, rel) }

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mounted(t *testing.T, p string) bool {
	t.Helper()
	m, err := fsat.IsMountPoint(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestStartStop(t *testing.T) {
	e := newEnv(t, "")
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	merged := e.c.Layout.MergedDir("srv")
	if got := read(t, merged+"/left4dead2/who.txt"); got != "top" {
		t.Errorf("top layer must win, got %q", got)
	}
	if got := read(t, merged+"/left4dead2/base.txt"); got != "base" {
		t.Errorf("installation visible: %q", got)
	}
	if got := read(t, merged+"/left4dead2/cfg/server.cfg"); got != "exec server_top\nhostname test\n" {
		t.Errorf("server.cfg %q", got)
	}
	if got := read(t, merged+"/left4dead2/cfg/server_top.cfg"); got != "sv_top 1\n" {
		t.Errorf("server_top.cfg %q", got)
	}
	fi, err := os.Stat(e.path("runtime/srv/upper/left4dead2/cfg/server.cfg"))
	if err != nil || fi.Sys().(*syscallStat).Uid != testUID {
		t.Errorf("staged file must be in upper and owned by the server: %v", err)
	}
	// Writes of the server land in upper, not in a lower layer.
	mk(t, merged+"/left4dead2/new.txt", "x", 0o644)
	if _, err := os.Stat(e.path("runtime/srv/upper/left4dead2/new.txt")); err != nil {
		t.Errorf("write did not land in upper: %v", err)
	}
	if !strings.Contains(e.log.String(), "staging server.cfg") || !strings.Contains(e.log.String(), "mounting overlay") {
		t.Errorf("step log: %s", e.log)
	}
	if err := Stop(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	if mounted(t, merged) {
		t.Fatal("still mounted after Stop")
	}
	if err := Stop(e.c, "srv"); err != nil {
		t.Fatalf("second Stop must be a no-op: %v", err)
	}
	if err := Stop(e.c, "never-started"); err != nil {
		t.Fatalf("Stop of an instance without runtime dir: %v", err)
	}
}

// A mount left by a killed helper is recovered, never doubled.
func TestStartRecoversStaleMount(t *testing.T) {
	e := newEnv(t, "")
	for i := 0; i < 3; i++ {
		if err := startSpec(e.c, "srv"); err != nil {
			t.Fatal(err)
		}
	}
	merged := e.c.Layout.MergedDir("srv")
	if n := strings.Count(read(t, "/proc/self/mountinfo"), " "+merged+" "); n != 1 {
		t.Fatalf("%d mounts on %s, want 1", n, merged)
	}
	if !strings.Contains(e.log.String(), "recovered") {
		t.Errorf("recovery not logged: %s", e.log)
	}
}

func TestStaleCfgRemoved(t *testing.T) {
	e := newEnv(t, "port: 27001\n")
	outside := filepath.Join(t.TempDir(), "victim")
	mk(t, outside, "keep", 0o644)
	cfg := e.path("runtime/srv/upper/left4dead2/cfg")
	mk(t, cfg+"/server_old.cfg", "old", 0o644)
	mk(t, cfg+"/autoexec.cfg", "mine", 0o644)
	if err := os.Symlink(outside, cfg+"/server.cfg"); err != nil {
		t.Fatal(err)
	}
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(cfg + "/server_old.cfg"); !os.IsNotExist(err) {
		t.Error("stale server_old.cfg kept")
	}
	if read(t, cfg+"/autoexec.cfg") != "mine" || read(t, outside) != "keep" {
		t.Error("a file that is not server*.cfg, or a link target, was touched")
	}
	if fi, _ := os.Lstat(cfg + "/server.cfg"); fi == nil || !fi.Mode().IsRegular() {
		t.Error("server.cfg must be a new regular file")
	}
}

// startSpec starts from the plan the generator would write for the spec
// as it is now.
func startSpec(c Config, name string) error {
	s, err := spec.Judge(c.Layout, name)
	if err != nil {
		return err
	}
	return Start(c, name, s.StartPlan())
}

func previewSpec(c Config, name string) (*Preview, error) {
	s, err := spec.Judge(c.Layout, name)
	if err != nil {
		return nil, err
	}
	return PreviewStart(c, name, s.StartPlan())
}

func TestStartChecksThePlan(t *testing.T) {
	e := newEnv(t, "")
	s, err := spec.Judge(e.c.Layout, "srv")
	if err != nil {
		t.Fatal(err)
	}
	plan := s.StartPlan()
	mk(t, e.c.Layout.SpecPath("srv"), "port: 27016\n", 0o644)
	if err := Start(e.c, "srv", plan); !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "daemon-reload") {
		t.Fatalf("spec edited after the plan: %v", err)
	}
	// A start somebody asked for waits for the edit; one systemd made by
	// itself (Restart= after a crash) runs on the loaded spec, saying so.
	for _, tc := range []struct {
		name string
		auto bool
		err  error
	}{
		{"a start asked for", false, nil},
		{"PID 1 does not answer", false, errors.New("ask how l4d2@srv.service was started: no")},
	} {
		e.c.AutoRestarted = func() (bool, error) { return tc.auto, tc.err }
		if err := Start(e.c, "srv", plan); !errors.Is(err, ErrStale) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	e.c.AutoRestarted = func() (bool, error) { return true, nil }
	if err := Start(e.c, "srv", plan); err != nil {
		t.Fatalf("an automatic restart after an edit: %v", err)
	}
	if !strings.Contains(e.log.String(), "runs as before, on the spec systemd loaded: `left4me restart srv` applies the edit") {
		t.Errorf("log: %s", e.log)
	}
	if got := read(t, filepath.Join(e.c.Layout.MergedDir("srv"), "left4dead2/who.txt")); got != "top" {
		t.Errorf("the automatic restart's tree shows %q, not the loaded spec's overlays", got)
	}
	if err := Stop(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	e.c.AutoRestarted = nil
	bad := startplan.Plan{Errors: []string{"srv.yaml:1:7: port: 0 is out of range 1..65535"}}
	if err := Start(e.c, "srv", bad); !errors.Is(err, layout.ErrInvalidSpec) || !strings.Contains(err.Error(), bad.Errors[0]) {
		t.Fatalf("plan of an invalid spec: %v", err)
	}
	if mounted(t, e.c.Layout.MergedDir("srv")) {
		t.Fatal("mounted despite refusal")
	}
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
}

func TestPreviewWritesNothing(t *testing.T) {
	e := newEnv(t, "")
	p, err := previewSpec(e.c, "srv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(e.path("runtime")); !os.IsNotExist(err) {
		t.Fatalf("preview created runtime/: %v", err)
	}
	want := []string{e.path("runtime/srv/upper"), e.path("overlays/top"), e.path("overlays/plain"), e.path("installation")}
	if strings.Join(p.Layers, ",") != strings.Join(want, ",") {
		t.Errorf("layers %v", p.Layers)
	}
	if len(p.Copies) != 1 || !p.Copies[0].Present || p.Copies[0].Source != e.path("overlays/top/left4dead2/cfg/server.cfg") {
		t.Errorf("copies %+v", p.Copies)
	}
	if p.ServerCfg != "exec server_top\nhostname test\n" || p.AutoExec != 1 {
		t.Errorf("cfg %q", p.ServerCfg)
	}
}

func TestIsMountPoint(t *testing.T) {
	if m, err := fsat.IsMountPoint("/proc"); err != nil || !m {
		t.Fatalf("/proc: %v %v", m, err)
	}
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Join(dir, "nope")} {
		if m, err := fsat.IsMountPoint(p); err != nil || m {
			t.Fatalf("%s: %v %v", p, m, err)
		}
	}
}

func TestStartRecordsInstallation(t *testing.T) {
	e := newEnv(t, "")
	// A versioned installation: a relative link inside the state root.
	if err := os.MkdirAll(e.path("installations"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("installation"), e.path("installations/200-x")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("installations/200-x", e.path("installation")); err != nil {
		t.Fatal(err)
	}
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, e.path("runtime/srv/installation")); got != "installations/200-x\n" {
		t.Fatalf("record %q", got)
	}
	// And the port set it was given, which the running server holds
	// against every spec (read back as the generator reads it).
	if got := read(t, e.path("runtime/srv/ports")); got != "game 27015\nclient 28015\ntv 29015\nsteam 30015\n" {
		t.Errorf("ports record %q", got)
	}
	if c := spec.ReadClaims(e.root)["srv"]; !c.Running || len(c.Ports) != 4 {
		t.Errorf("claim of the running instance: %+v", c)
	}
	if err := Stop(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	if c := spec.ReadClaims(e.root)["srv"]; c.Running || len(c.Ports) != 4 {
		t.Errorf("claim of the stopped instance: %+v", c)
	}
}

func TestForeignUpperWarned(t *testing.T) {
	e := newEnv(t, "")
	mkdirs(t, e.path("runtime/srv/upper"))
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.log.String(), "belongs to root, not the server's user") {
		t.Fatalf("log: %s", e.log)
	}
}

// A start or stop that waits for the instance's lock (a backup or restore
// of a large upper layer holds it) says in its log who holds it, then
// goes on once it is free.
func TestWaitSaysWho(t *testing.T) {
	e := newEnv(t, "")
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		run  func(Config) error
	}{
		{"stop", func(c Config) error { return Stop(c, "srv") }},
		{"start", func(c Config) error { return startSpec(c, "srv") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Another process holds it, as `left4me restore` would.
			holder := exec.Command("flock", "-n", "-o", e.path("runtime/srv"), "-c", "echo held; exec sleep 60")
			holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out, err := holder.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := holder.Start(); err != nil {
				t.Skipf("flock(1): %v", err)
			}
			release := func() { _ = syscall.Kill(-holder.Process.Pid, syscall.SIGKILL); _ = holder.Wait() }
			defer release()
			if line, err := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
				t.Fatalf("flock(1) said %q: %v", line, err)
			}
			log := &syncbuf.Buffer{}
			c := e.c
			c.Log = log
			done := make(chan error, 1)
			go func() { done <- tc.run(c) }()
			deadline := time.After(10 * time.Second)
			for !strings.Contains(log.String(), "waiting: ") {
				select {
				case <-deadline:
					release()
					<-done
					_ = Stop(e.c, "srv")
					t.Fatalf("no line says who holds the lock:\n%s", log)
				case err := <-done:
					t.Fatalf("did not wait for the lock: %v\n%s", err, log)
				case <-time.After(10 * time.Millisecond):
				}
			}
			want := fmt.Sprintf("waiting: pid %d (", holder.Process.Pid)
			if !strings.Contains(log.String(), want) || !strings.Contains(log.String(), " holds the lock on "+e.path("runtime/srv")) {
				t.Errorf("log %q, want %q ... holds the lock on runtime/srv", log, want)
			}
			release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}
