package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtExe  string
	buildErr  error
)

// standin builds the stand-in once, to run it as a process chain.
func standin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "standin-steamcmd")
		if err != nil {
			buildErr = err
			return
		}
		builtExe = filepath.Join(dir, "steamcmd.sh")
		out, err := exec.Command("go", "build", "-o", builtExe, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtExe
}

// start runs the built stand-in as steamcmd.sh with the script as fd 3.
func (f fixture) start(t *testing.T, script string, out *bytes.Buffer) *exec.Cmd {
	t.Helper()
	mf, err := os.Open(f.script(t, script))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mf.Close() })
	cmd := exec.Command(standin(t), "+runscript", "/proc/self/fd/3")
	cmd.Env = []string{"HOME=" + f.home, "STEAMCMD_STANDIN_DEPOT=" + f.depot, "PATH=/usr/bin:/bin"}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{mf}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func status(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -2
	}
	return 0
}

func TestChain(t *testing.T) {
	update := func(dir string) string {
		return "@ShutdownOnFailedCommand 1\nforce_install_dir " + dir + "\nlogin anonymous\n" +
			"@sSteamCmdForcePlatformType windows\napp_update 222860\nquit\n"
	}
	cases := []struct {
		name, fail string
		code       int
		want       []string
		count      map[string]int
	}{
		// A first run updates steamcmd, exits 42 and steamcmd.sh starts
		// it again with the same fd 3: the script runs once.
		{name: "first run", code: 0, want: []string{"Update complete, launching Steamcmd...", "Success! App '222860' fully installed."},
			count: map[string]int{"Steam Console Client": 1, "Verifying installation...": 2, "Success!": 1}},
		// The binary's status comes through bash.
		{name: "status", fail: "0", code: 8, want: []string{"state is 0x602 after update job"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, "7", map[string]string{"a": "aaaa", "b": "bbbb"})
			if c.fail != "" {
				put(t, filepath.Join(f.depot, "fail"), c.fail)
			}
			var out bytes.Buffer
			err := f.start(t, update(f.dir), &out).Wait()
			if status(err) != c.code {
				t.Errorf("status %v, want %d\n%s", err, c.code, out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("no %q in\n%s", w, out.String())
				}
			}
			for w, n := range c.count {
				if got := strings.Count(out.String(), w); got != n {
					t.Errorf("%q %d times, want %d\n%s", w, got, n, out.String())
				}
			}
		})
	}
}

// SIGTERM to steamcmd.sh ends bash alone: the binary, orphaned, ignores
// SIGPIPE and SIGTERM and completes the update. A group's SIGKILL ends
// both, the binary's death showing as status 137 would bash survive.
func TestChainSignals(t *testing.T) {
	f := newFixture(t, "8", map[string]string{"a": "aaaa", "b": "bbbb", "c": "cccc"})
	put(t, filepath.Join(f.depot, "delay"), "300ms")
	put(t, filepath.Join(f.home, ".steam/steamcmd/linux32/steamclient.so"), "x") // no self-update
	var out bytes.Buffer
	cmd := f.start(t, "force_install_dir "+f.dir+"\nlogin anonymous\n@sSteamCmdForcePlatformType windows\napp_update 222860\nquit\n", &out)
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("steamcmd.sh: %v, want death by SIGTERM", err)
	}
	manifest := filepath.Join(f.dir, "steamapps/appmanifest_222860.acf")
	for i := 0; !strings.Contains(readString(manifest), `"StateFlags"		"4"`); i++ {
		if i == 100 {
			t.Fatalf("the orphaned binary did not complete the update:\n%s", readString(manifest))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out.Len() >= 4096 {
		t.Errorf("output not block-buffered: %d bytes before the end", out.Len())
	}
}

// An interrupted download leaves its staging behind; the next run resumes
// from it and, complete, removes it.
func TestStagingLeftovers(t *testing.T) {
	f := newFixture(t, "9", map[string]string{"a": "aaaaaaaa", "b": "bb"})
	put(t, filepath.Join(f.depot, "errors"), "0x402")
	args := []string{"+force_install_dir", f.dir, "+login", "anonymous", "+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860", "+quit"}
	staged := filepath.Join(f.dir, "steamapps/downloading/222860")
	steps := []struct {
		code          int
		flags, stageA string
		stageGone     bool
	}{
		{8, `"StateFlags"		"1026"`, "aaaa", false},
		{0, `"StateFlags"		"4"`, "", true},
	}
	for i, st := range steps {
		code, out := f.run(t, args...)
		m := readString(filepath.Join(f.dir, "steamapps/appmanifest_222860.acf"))
		if code != st.code || !strings.Contains(m, st.flags) {
			t.Errorf("run %d: exit %d, manifest\n%s\n%s", i, code, m, out)
		}
		if got := readString(filepath.Join(staged, "a")); got != st.stageA {
			t.Errorf("run %d: staged a = %q, want %q", i, got, st.stageA)
		}
		if _, err := os.Stat(staged); os.IsNotExist(err) != st.stageGone {
			t.Errorf("run %d: %s: %v", i, staged, err)
		}
	}
	for _, d := range []string{"steamapps/downloading", "steamapps/temp"} {
		if ents, err := os.ReadDir(filepath.Join(f.dir, d)); err != nil || len(ents) != 0 {
			t.Errorf("%s: %v %v, want an empty directory", d, ents, err)
		}
	}
}

// A second update of a current install has nothing to do, and says so.
func TestAlreadyUpToDate(t *testing.T) {
	f := newFixture(t, "5", map[string]string{"a": "a"})
	args := []string{"+force_install_dir", f.dir, "+login", "anonymous", "+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860"}
	cases := []struct {
		extra []string
		want  string
	}{
		{nil, "Success! App '222860' fully installed."},
		{nil, "Success! App '222860' already up to date."},
		{[]string{"validate"}, "Success! App '222860' fully installed."},
	}
	for i, c := range cases {
		code, out := f.run(t, append(append(args, c.extra...), "+quit")...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Errorf("run %d: exit %d, want %q:\n%s", i, code, c.want, out)
		}
	}
}

// After a stopped update of an install the anonymous linux update goes on;
// after a stopped first install it meets "Invalid platform" again.
func TestInvalidPlatformAfterStoppedDownload(t *testing.T) {
	cases := []struct {
		name      string
		installed bool
		code      int
	}{
		{"update", true, 0},
		{"first install", false, 8},
	}
	for _, c := range cases {
		f := newFixture(t, "12", map[string]string{"a": "new"})
		if c.installed {
			put(t, filepath.Join(f.dir, "a"), "old")
			put(t, filepath.Join(f.dir, "steamapps/appmanifest_222860.acf"), "\"AppState\"\n{\n\t\"appid\"\t\t\"222860\"\n\t\"StateFlags\"\t\t\"4\"\n\t\"buildid\"\t\t\"11\"\n}\n")
		}
		put(t, filepath.Join(f.depot, "errors"), "0x402")
		platform := []string{"+@sSteamCmdForcePlatformType", "windows"}
		if c.installed {
			platform = nil
		}
		args := append(append([]string{"+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous"}, platform...), "+app_update", "222860", "+quit")
		if code, out := f.run(t, args...); code != 8 || !strings.Contains(out, "state is 0x402") {
			t.Fatalf("%s: first run: exit %d\n%s", c.name, code, out)
		}
		code, out := f.run(t, "+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous", "+app_update", "222860", "+quit")
		if code != c.code || c.code != 0 && !strings.Contains(out, "(Invalid platform)") {
			t.Errorf("%s: linux run after the stop: exit %d, want %d\n%s", c.name, code, c.code, out)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtExe != "" {
		os.RemoveAll(filepath.Dir(builtExe))
	}
	os.Exit(code)
}
