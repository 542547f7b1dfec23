package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

type fixture struct {
	depot, home, dir string
}

func newFixture(t *testing.T, build string, files map[string]string) fixture {
	t.Helper()
	base := t.TempDir()
	f := fixture{depot: filepath.Join(base, "depot"), home: filepath.Join(base, "home"), dir: filepath.Join(base, "game")}
	put(t, filepath.Join(f.depot, "build"), build)
	for rel, body := range files {
		put(t, filepath.Join(f.depot, "files", rel), body)
	}
	return f
}

func put(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out strings.Builder
	env := map[string]string{"STEAMCMD_STANDIN_DEPOT": f.depot, "HOME": f.home}
	code := run(append([]string{"steamcmd"}, args...), &out, func(k string) string { return env[k] })
	return code, out.String()
}

func (f fixture) script(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "script")
	put(t, p, strings.Join(lines, "\n")+"\n")
	return p
}

func ino(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

func TestWorkaroundInstallsAndRewritesInPlace(t *testing.T) {
	f := newFixture(t, "200", map[string]string{"srcds_run": "run", "left4dead2/who.txt": "v2", "left4dead2/new.txt": "n"})
	put(t, filepath.Join(f.dir, "left4dead2/who.txt"), "v1")
	before := ino(t, filepath.Join(f.dir, "left4dead2/who.txt"))
	code, out := f.run(t, "+runscript", f.script(t, "@ShutdownOnFailedCommand 1", `force_install_dir "`+f.dir+`"`, "login anonymous",
		"@sSteamCmdForcePlatformType windows", "app_update 222860", "@sSteamCmdForcePlatformType linux", "app_update 222860 validate", "quit"))
	if code != 0 || !strings.Contains(out, "Success! App '222860' fully installed.") || !strings.Contains(out, "Update state (0x81) verifying update, progress: 100.00") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.dir, "left4dead2/who.txt")); string(b) != "v2" {
		t.Errorf("who.txt %q", b)
	}
	if ino(t, filepath.Join(f.dir, "left4dead2/who.txt")) != before {
		t.Error("the changed file was replaced, not rewritten in place")
	}
	m, _ := os.ReadFile(filepath.Join(f.dir, "steamapps/appmanifest_222860.acf"))
	if !strings.Contains(string(m), `"buildid"		"200"`) || !strings.Contains(string(m), `"StateFlags"		"4"`) {
		t.Errorf("manifest:\n%s", m)
	}
	if _, err := os.Stat(filepath.Join(f.home, ".steam/steamcmd/linux32/steamclient.so")); err != nil {
		t.Errorf("no steamclient.so: %v", err)
	}
	// A file the depot dropped is deleted by the next update.
	os.Remove(filepath.Join(f.depot, "files/left4dead2/new.txt"))
	if code, out := f.run(t, "+force_install_dir", f.dir, "+login", "anonymous", "+@sSteamCmdForcePlatformType", "windows",
		"+app_update", "222860", "+@sSteamCmdForcePlatformType", "linux", "+app_update", "222860", "+quit"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "left4dead2/new.txt")); !os.IsNotExist(err) {
		t.Errorf("dropped file still there: %v", err)
	}
}

func TestInvalidPlatform(t *testing.T) {
	f := newFixture(t, "1", map[string]string{"srcds_run": "x"})
	code, out := f.run(t, "+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous", "+app_update", "222860", "+quit")
	if code != 8 || !strings.Contains(out, "ERROR! Failed to install app '222860' (Invalid platform)") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestFailHalfway(t *testing.T) {
	cases := []struct {
		fail string
		code int
	}{{"1", 8}, {"1 exit0", 0}}
	for _, c := range cases {
		f := newFixture(t, "2", map[string]string{"a": "aaaa", "b": "bbbbbbbb", "c": "c"})
		put(t, filepath.Join(f.depot, "fail"), c.fail)
		code, out := f.run(t, "+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous",
			"+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860", "+@sSteamCmdForcePlatformType", "linux", "+app_update", "222860", "+quit")
		if code != c.code || !strings.Contains(out, "Error! App '222860' state is 0x602 after update job.") || strings.Contains(out, "Success! App '222860' fully") && strings.Count(out, "Success!") > 1 {
			t.Errorf("%s: exit %d:\n%s", c.fail, code, out)
		}
		if b, _ := os.ReadFile(filepath.Join(f.dir, "b")); string(b) != "bbbb" {
			t.Errorf("%s: b = %q, want half", c.fail, b)
		}
		m, _ := os.ReadFile(filepath.Join(f.dir, "steamapps/appmanifest_222860.acf"))
		if !strings.Contains(string(m), `"StateFlags"		"1026"`) {
			t.Errorf("%s: manifest:\n%s", c.fail, m)
		}
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t, "3", map[string]string{"srcds_run": "x"})
	put(t, filepath.Join(f.depot, "account"), "bob s3cret")
	cases := []struct {
		login string
		ok    bool
	}{
		{"login bob wrong", false},
		{"login bob", false}, // nothing cached yet
		{"login bob s3cret", true},
		{"login bob", true}, // cached now
		{"login eve s3cret", false},
	}
	for _, c := range cases {
		code, out := f.run(t, "+runscript", f.script(t, "@ShutdownOnFailedCommand 1", "force_install_dir "+f.dir, c.login, "app_update 222860", "quit"))
		if (code == 0) != c.ok {
			t.Errorf("%s: exit %d:\n%s", c.login, code, out)
		}
	}
	log, _ := os.ReadFile(filepath.Join(f.depot, "log"))
	if strings.Contains(string(log), "s3cret") {
		t.Errorf("the log holds the password:\n%s", log)
	}
	if f.run(t, "+login", "bob", "s3cret", "+quit"); !strings.Contains(readString(filepath.Join(f.depot, "log")), "password-in-argv") {
		t.Error("a password in argv was not noted")
	}
}

func TestAppInfo(t *testing.T) {
	f := newFixture(t, "16100000", nil)
	code, out := f.run(t, "+login", "anonymous", "+app_info_update", "1", "+app_info_print", "222860", "+quit")
	if code != 0 || !strings.Contains(out, `"buildid"		"16100000"`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestWords(t *testing.T) {
	if got := words(`login "a b" c  "" d`); strings.Join(got, "|") != "login|a b|c||d" {
		t.Errorf("%q", got)
	}
}
