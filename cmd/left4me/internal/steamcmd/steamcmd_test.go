package steamcmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScript(t *testing.T) {
	cases := []struct {
		name string
		job  Job
		want []string // lines after the two @ settings
		err  string
	}{
		{"anonymous workaround", Job{InstallDir: "/s/m", WindowsFirst: true},
			[]string{`force_install_dir "/s/m"`, "login anonymous", "@sSteamCmdForcePlatformType windows", "app_update 222860",
				"@sSteamCmdForcePlatformType linux", "app_update 222860 validate", "quit"}, ""},
		{"account", Job{InstallDir: "/a b", Login: "bob", Password: "pa ss"},
			[]string{`force_install_dir "/a b"`, `login "bob" "pa ss"`, "app_update 222860", "quit"}, ""},
		// Every login word quoted: steamcmd's tokenizer takes { } ( ) ' :
		// and // (a comment) specially when unquoted.
		{"special password, Steam Guard code", Job{InstallDir: "/d", Login: "bob", Password: "p{a}(s)'s:w//rd", GuardCode: "F4K3X"},
			[]string{`force_install_dir "/d"`, `login "bob" "p{a}(s)'s:w//rd" "F4K3X"`, "app_update 222860", "quit"}, ""},
		{"cached login, validate", Job{InstallDir: "/d", Login: "bob", Validate: true},
			[]string{`force_install_dir "/d"`, `login "bob"`, "app_update 222860 validate", "quit"}, ""},
		{"quote in password", Job{InstallDir: "/d", Login: "bob", Password: `a"b`}, nil, "password contains a double quote"},
		{"newline in login", Job{InstallDir: "/d", Login: "bo\nb"}, nil, "login name contains"},
	}
	for _, c := range cases {
		s, err := c.job.Script()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: got %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if lines[0] != "@ShutdownOnFailedCommand 1" || lines[1] != "@NoPromptForPassword 1" {
			t.Errorf("%s: header %q", c.name, lines[:2])
		}
		if got := strings.Join(lines[2:], "|"); got != strings.Join(c.want, "|") {
			t.Errorf("%s:\ngot  %s\nwant %s", c.name, got, strings.Join(c.want, "|"))
		}
	}
}

func TestProgressAndResult(t *testing.T) {
	cases := []struct {
		line string
		want Progress
		ok   bool
	}{
		{" Update state (0x61) downloading, progress: 45.03 (4115582838 / 9139527925)", Progress{"downloading", 45.03, 4115582838, 9139527925}, true},
		{" Update state (0x81) verifying update, progress: 100.00 (10 / 10)", Progress{"verifying update", 100, 10, 10}, true},
		{" Update state (0x3) reconfiguring, progress: 0.00 (0 / 0)", Progress{"reconfiguring", 0, 0, 0}, true},
		{"Success! App '222860' fully installed.", Progress{}, false},
	}
	for _, c := range cases {
		got, ok := ParseProgress(c.line)
		if got != c.want || ok != c.ok {
			t.Errorf("%q: %+v %v", c.line, got, ok)
		}
	}
	var r Result
	for _, l := range []string{"Loading Steam API...OK", "Success! App '222860' fully installed.", "ERROR! Failed to install app '222860' (Invalid platform)"} {
		r.Observe(l)
	}
	if r.Success || !r.InvalidPlatform || r.Summary() != "ERROR! Failed to install app '222860' (Invalid platform)" {
		t.Errorf("%+v", r)
	}
	r = Result{}
	r.Observe("Success! App '222860' fully installed.")
	r.Observe("Error! App '222860' state is 0x602 after update job.")
	if r.Success {
		t.Error("a failure after a success counts as success")
	}
	r = Result{}
	r.Observe("Logging in user 'bob' to Steam Public...FAILED (Invalid Password)")
	if r.Success || len(r.Errors) != 1 {
		t.Errorf("%+v", r)
	}
}

const acf = `"AppState"
{
	"appid"		"222860"
	"Universe"		"1"
	"StateFlags"		"4"
	"LastUpdated"		"1732600000"
	"buildid"		"16063936"
}
`

func TestManifest(t *testing.T) {
	m, err := ParseManifest(acf)
	if err != nil {
		t.Fatal(err)
	}
	if m.BuildID != "16063936" || m.StateFlags != 4 || m.AppID != AppID || m.LastUpdated.Unix() != 1732600000 || m.Check() != nil {
		t.Errorf("%+v %v", m, m.Check())
	}
	bad := []struct{ text, want string }{
		{`"x" { }`, "no AppState"},
		{`"AppState" { "appid" "222860" "StateFlags" "4" }`, "no buildid"},
		{`"AppState" { "appid" "222860" "buildid" "12a" "StateFlags" "4" }`, "not a number"},
		{`"AppState" { "appid" "222860" "buildid" "1" "StateFlags" "x" }`, "StateFlags"},
	}
	for _, b := range bad {
		if _, err := ParseManifest(b.text); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: %v", b.text, err)
		}
	}
	half := Manifest{AppID: AppID, BuildID: "1", StateFlags: 1026}
	if err := half.Check(); err == nil || !strings.Contains(err.Error(), "did not complete") {
		t.Errorf("half: %v", err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "steamapps"), 0o755)
	os.WriteFile(filepath.Join(dir, ManifestPath), []byte(acf), 0o644)
	if m, err := ReadManifest(dir); err != nil || m.BuildID != "16063936" {
		t.Errorf("ReadManifest: %+v %v", m, err)
	}
	if _, err := ReadManifest(t.TempDir()); err == nil {
		t.Error("no manifest: no error")
	}
}

func TestParseAppInfo(t *testing.T) {
	out := `Loading Steam API...OK
AppID : 222860, change number : 1/0, last change : Tue Nov 26 2025
"222860"
{
	"common"
	{
		"name"		"Left 4 Dead 2 Dedicated Server"
	}
	"depots"
	{
		"branches"
		{
			"public"
			{
				"buildid"		"16100000"
			}
		}
	}
}
Unloading Steam API...OK
`
	if b, err := ParseAppInfo(out); err != nil || b != "16100000" {
		t.Errorf("%q %v", b, err)
	}
	if _, err := ParseAppInfo("Loading Steam API...OK\n"); err == nil {
		t.Error("no block: no error")
	}
}

// fake writes a shell script standing in for steamcmd.
func fake(t *testing.T, body string) Config {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "steamcmd")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return Config{Path: p, Home: filepath.Join(dir, "home"), Env: []string{"PATH=/usr/bin:/bin", "HOME=/wrong"}}
}

func TestRunHandsOverScriptWithoutArgv(t *testing.T) {
	c := fake(t, `echo "argv: $*"
echo "home: $HOME"
cat "$2" | sed 's/^/script: /'
echo "Success! App '222860' fully installed."
`)
	var lines []string
	res, err := Run(context.Background(), c, "login bob s3cret\nquit\n", "s3cret", func(l string) { lines = append(lines, l) })
	if err != nil || !res.Success {
		t.Fatalf("%v %+v", err, res)
	}
	want := []string{"argv: +runscript /proc/self/fd/3", "home: " + c.Home, "script: login bob ***", "script: quit", "Success! App '222860' fully installed."}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s", strings.Join(lines, "\n"))
	}
	if st, err := os.Stat(c.Home); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("home: %v %v", st, err)
	}
}

func TestRunFailures(t *testing.T) {
	c := fake(t, "echo 'ERROR! Failed to install app '\\''222860'\\'' (Invalid platform)'\nexit 8\n")
	res, err := Run(context.Background(), c, "", "", nil)
	if err == nil || !strings.Contains(err.Error(), "status 8: ERROR! Failed to install app '222860' (Invalid platform)") || !res.InvalidPlatform {
		t.Errorf("%v %+v", err, res)
	}
	c.Path = filepath.Join(t.TempDir(), "nope")
	if _, err := Run(context.Background(), c, "", "", nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing: %v", err)
	}
}

func TestRunCancelStopsTheGroup(t *testing.T) {
	// A child in the background, like steamcmd.sh's linux32/steamcmd. Its
	// pid as the script sees it may be one of steamcmd's PID namespace:
	// it is found by its unique argument instead.
	mark := fmt.Sprintf("300.%d", time.Now().UnixNano()%1000000)
	c := fake(t, "sleep "+mark+" &\necho started\nwait\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Run(ctx, c, "", "", func(string) { cancel() })
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Errorf("got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitGone(t, mark)
}

// waitGone fails unless no live process has mark in its command line
// within 2s (SIGKILL is delivered asynchronously).
func waitGone(t *testing.T, mark string) {
	t.Helper()
	for i := 0; ; i++ {
		pid := running(mark)
		if pid == "" {
			return
		}
		if i == 100 {
			t.Fatalf("child %s (%s) still running", pid, mark)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// running returns the pid of a live process with mark in its command line.
func running(mark string) string {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, _ := os.ReadFile(p)
		if !strings.Contains(string(b), mark) {
			continue
		}
		st, _ := os.ReadFile(filepath.Join(filepath.Dir(p), "stat"))
		if len(st) > 0 && !strings.Contains(string(st), ") Z") {
			return filepath.Base(filepath.Dir(p))
		}
	}
	return ""
}

// The states a run ends in decide between retrying and stopping.
func TestResultStates(t *testing.T) {
	cases := []struct {
		line                      string
		state                     string
		transient, full, noSubscr bool
	}{
		{"Error! App '222860' state is 0x402 after update job.", "0x402", true, false, false},
		// The form LinuxGSM-Docs quotes (steamcmd/errors.md).
		{"Error! State is 0x402 after update job.", "0x402", true, false, false},
		{"Error! State is 0x602 after update job.", "0x602", true, false, false},
		{"Error! App '222860' state is 0x6A6 after update job.", "0x6a6", true, false, false},
		{"Error! App '222860' state is 0x626 after update job.", "0x626", true, false, false},
		{"Error! App '222860' state is 0x202 after update job.", "0x202", false, true, false},
		{"Error! App '222860' state is 0x212 after update job.", "0x212", false, true, false},
		{"ERROR! Failed to install app '222860' (No subscription)", "", false, false, true},
		{"Error! App '222860' state is 0x10E after update job.", "0x10e", false, false, false},
	}
	for _, c := range cases {
		var r Result
		r.Observe(c.line)
		if r.State != c.state || r.Transient() != c.transient || r.DiskFull() != c.full || r.NoSubscription != c.noSubscr {
			t.Errorf("%q: %+v transient %v full %v", c.line, r, r.Transient(), r.DiskFull())
		}
	}
}

// Every appinfo.vdf below HOME goes, wherever steamcmd's root is (Valve's
// HOME/Steam, Debian's HOME/.local/share/Steam); nothing reached through a
// link, and nothing that is not a regular file.
func TestDropAppInfoCaches(t *testing.T) {
	home, outside := t.TempDir(), t.TempDir()
	files := []string{"Steam/appcache/appinfo.vdf", ".local/share/Steam/appcache/appinfo.vdf", ".local/share/Steam/appcache/keep.vdf"}
	for _, f := range files {
		p := filepath.Join(home, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	theirs := filepath.Join(outside, "appcache", "appinfo.vdf")
	if err := os.MkdirAll(filepath.Dir(theirs), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(theirs, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(home, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(home, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(home, "dir", AppInfoCache), 0o700); err != nil {
		t.Fatal(err)
	}
	gone, err := DropAppInfoCaches(home)
	if err != nil || len(gone) != 2 {
		t.Fatalf("%v %v", gone, err)
	}
	for i, f := range files {
		_, err := os.Stat(filepath.Join(home, f))
		if exists := err == nil; exists != (i == 2) {
			t.Errorf("%s exists: %v", f, exists)
		}
	}
	if _, err := os.Stat(theirs); err != nil {
		t.Errorf("followed the link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, "dir", AppInfoCache)); err != nil {
		t.Errorf("removed a directory: %v", err)
	}
	if _, err := DropAppInfoCaches(filepath.Join(home, "none")); err != nil {
		t.Errorf("no HOME yet: %v", err)
	}
}
