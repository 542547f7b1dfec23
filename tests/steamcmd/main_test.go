package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
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
	if _, err := os.Stat(filepath.Join(f.home, ".local/share/Steam/steamcmd/linux32/steamclient.so")); err != nil {
		t.Errorf("no steamclient.so: %v", err)
	}
	// Debian's wrapper's links to the Steam root.
	for _, l := range []string{".steam/root", ".steam/steam"} {
		if to, err := os.Readlink(filepath.Join(f.home, l)); err != nil || to != filepath.Join(f.home, ".local/share/Steam") {
			t.Errorf("%s -> %q, %v", l, to, err)
		}
	}
	// The windows pass brought the Windows-only files; the linux pass
	// left them.
	for _, rel := range windowsOnly {
		if b, err := os.ReadFile(filepath.Join(f.dir, rel)); err != nil || !strings.HasPrefix(string(b), "MZ standin") {
			t.Errorf("%s: %q %v", rel, b, err)
		}
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
		// The manifest keeps the state the failure names: 0x602 = 1538.
		m, _ := os.ReadFile(filepath.Join(f.dir, "steamapps/appmanifest_222860.acf"))
		if !strings.Contains(string(m), `"StateFlags"		"1538"`) {
			t.Errorf("%s: manifest:\n%s", c.fail, m)
		}
		// What was not moved into place yet stays staged.
		if b, err := os.ReadFile(filepath.Join(f.dir, "steamapps/downloading/222860/c")); string(b) != "c" {
			t.Errorf("%s: staged c = %q %v", c.fail, b, err)
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
		if (code == 0) != c.ok || !c.ok && code != 5 {
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

// ageTree sets every file below dir to an old mtime and returns their
// inodes.
func ageTree(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	inodes := map[string]uint64{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		inodes[p] = ino(t, p)
		return nil
	})
	return inodes
}

func rewritten(t *testing.T, path string) bool {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return time.Since(st.ModTime()) < 30*time.Minute
}

func TestWindowsFilesAndPlatformRules(t *testing.T) {
	f := newFixture(t, "10", map[string]string{"srcds_run": "run", "left4dead2/a.txt": "a"})
	anonLinux := []string{"+@ShutdownOnFailedCommand", "1", "+@NoPromptForPassword", "1", "+force_install_dir", f.dir, "+login", "anonymous", "+app_update", "222860", "+quit"}
	// A first install: anonymous linux fails, also over a half install.
	put(t, filepath.Join(f.dir, "steamapps/appmanifest_222860.acf"), "\"AppState\"\n{\n\t\"appid\"\t\t\"222860\"\n\t\"StateFlags\"\t\t\"1026\"\n\t\"buildid\"\t\t\"0\"\n}\n")
	if code, out := f.run(t, anonLinux...); code != 8 || !strings.Contains(out, "(Invalid platform)") {
		t.Fatalf("half install: exit %d:\n%s", code, out)
	}
	// The windows pass alone, in its own process, as docker images do.
	code, out := f.run(t, "+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous",
		"+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860", "+quit")
	if code != 0 || !strings.Contains(out, "Success! App '222860' fully installed.") {
		t.Fatalf("windows pass: exit %d:\n%s", code, out)
	}
	for _, rel := range append([]string{"srcds_run", "left4dead2/a.txt"}, windowsOnly...) {
		if _, err := os.Stat(filepath.Join(f.dir, rel)); err != nil {
			t.Errorf("after the windows pass: %v", err)
		}
	}
	// An existing complete install updates as anonymous linux.
	put(t, filepath.Join(f.depot, "build"), "11")
	put(t, filepath.Join(f.depot, "files/left4dead2/a.txt"), "a2")
	if code, out := f.run(t, anonLinux...); code != 0 || !strings.Contains(out, "Success!") {
		t.Fatalf("update: exit %d:\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.dir, "left4dead2/a.txt")); string(b) != "a2" {
		t.Errorf("a.txt %q", b)
	}
	for _, rel := range windowsOnly {
		if _, err := os.Stat(filepath.Join(f.dir, rel)); err != nil {
			t.Errorf("the linux pass removed a Windows file: %v", err)
		}
	}
	// "always": only a windows pass in the same process helps.
	put(t, filepath.Join(f.depot, "invalidplatform"), "always")
	if code, out := f.run(t, anonLinux...); code != 8 || !strings.Contains(out, "(Invalid platform)") {
		t.Errorf("always: exit %d:\n%s", code, out)
	}
	put(t, filepath.Join(f.depot, "invalidplatform"), "sometimes")
	if code, out := f.run(t, anonLinux...); code != 8 || !strings.Contains(out, "invalidplatform is \"sometimes\"") {
		t.Errorf("bad switch: exit %d:\n%s", code, out)
	}
	os.Remove(filepath.Join(f.depot, "invalidplatform"))
	// files-windows/ replaces the synthesized files; a windows pass drops
	// the Windows files its depot no longer has.
	put(t, filepath.Join(f.depot, "files-windows/srcds.exe"), "MZ real")
	if code, out := f.run(t, "+force_install_dir", f.dir, "+login", "anonymous", "+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860", "+quit"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(f.dir, "srcds.exe")); string(b) != "MZ real" {
		t.Errorf("srcds.exe %q", b)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "bin/engine.dll")); !os.IsNotExist(err) {
		t.Errorf("engine.dll left by a windows pass whose depot dropped it: %v", err)
	}
}

func TestValidateAndRewriteAllRewriteInPlace(t *testing.T) {
	f := newFixture(t, "20", map[string]string{"srcds_run": "run", "left4dead2/same.txt": "same", "left4dead2/who.txt": "v1"})
	install := []string{"+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous",
		"+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860", "+@sSteamCmdForcePlatformType", "linux", "+app_update", "222860", "+quit"}
	if code, out := f.run(t, install...); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	update := func(validate bool) {
		t.Helper()
		args := []string{"+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous", "+app_update", "222860"}
		if validate {
			args = append(args, "validate")
		}
		if code, out := f.run(t, append(args, "+quit")...); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	}
	same := filepath.Join(f.dir, "left4dead2/same.txt")
	who := filepath.Join(f.dir, "left4dead2/who.txt")
	// A plain update writes only what changed.
	ageTree(t, f.dir)
	put(t, filepath.Join(f.depot, "files/left4dead2/who.txt"), "v2")
	update(false)
	if rewritten(t, same) || !rewritten(t, who) {
		t.Errorf("plain update: same rewritten %v, who rewritten %v", rewritten(t, same), rewritten(t, who))
	}
	// validate rewrites every depot file in place, not the Windows ones.
	inodes := ageTree(t, f.dir)
	put(t, filepath.Join(f.depot, "files/left4dead2/who.txt"), "v3")
	update(true)
	for _, rel := range []string{"srcds_run", "left4dead2/same.txt", "left4dead2/who.txt"} {
		p := filepath.Join(f.dir, rel)
		if !rewritten(t, p) || ino(t, p) != inodes[p] {
			t.Errorf("validate: %s rewritten %v, inode kept %v", rel, rewritten(t, p), ino(t, p) == inodes[p])
		}
	}
	if b, _ := os.ReadFile(same); string(b) != "same" {
		t.Errorf("same.txt %q", b)
	}
	if b, _ := os.ReadFile(who); string(b) != "v3" {
		t.Errorf("who.txt %q", b)
	}
	if rewritten(t, filepath.Join(f.dir, "srcds.exe")) {
		t.Error("a linux validate rewrote a Windows file")
	}
	// rewrite "all": every update does the same.
	put(t, filepath.Join(f.depot, "rewrite"), "all")
	inodes = ageTree(t, f.dir)
	update(false)
	if !rewritten(t, same) || ino(t, same) != inodes[same] {
		t.Error(`rewrite "all" did not rewrite same.txt in place`)
	}
	put(t, filepath.Join(f.depot, "rewrite"), "everything")
	if code, out := f.run(t, "+@ShutdownOnFailedCommand", "1", "+force_install_dir", f.dir, "+login", "anonymous", "+app_update", "222860", "+quit"); code != 8 || !strings.Contains(out, `rewrite is "everything"`) {
		t.Errorf("bad rewrite: exit %d:\n%s", code, out)
	}
}

func TestAppInfoCache(t *testing.T) {
	f := newFixture(t, "100", map[string]string{"srcds_run": "x"})
	info := func() string {
		t.Helper()
		code, out := f.run(t, "+runscript", f.script(t, "@ShutdownOnFailedCommand 1", "@NoPromptForPassword 1", "login anonymous", "app_info_update 1", "app_info_print 222860", "quit"))
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		return out
	}
	cache := filepath.Join(f.home, ".local/share/Steam/appcache/appinfo.vdf") // Debian's root
	if out := info(); !strings.Contains(out, `"buildid"		"100"`) {
		t.Fatalf("no cache:\n%s", out)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache written: %v", err)
	}
	put(t, filepath.Join(f.depot, "build"), "200")
	if out := info(); !strings.Contains(out, `"buildid"		"100"`) {
		t.Errorf("the cache did not answer after app_info_update 1:\n%s", out)
	}
	os.Remove(cache)
	if out := info(); !strings.Contains(out, `"buildid"		"200"`) {
		t.Errorf("without the cache:\n%s", out)
	}
	// app_update fetches app info too: it writes a missing cache.
	os.Remove(cache)
	if code, out := f.run(t, "+force_install_dir", f.dir, "+login", "anonymous", "+@sSteamCmdForcePlatformType", "windows", "+app_update", "222860", "+quit"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	put(t, filepath.Join(f.depot, "build"), "300")
	if out := info(); !strings.Contains(out, `"buildid"		"200"`) {
		t.Errorf("after app_update:\n%s", out)
	}
}

func TestSteamGuard(t *testing.T) {
	const guardLines = `Logging in user 'bob' to Steam Public...
This computer has not been authenticated for your account using Steam Guard.
Please check your email for the message from Steam, and enter the Steam Guard
 code from that message.
You can also enter this code at any time using 'set_steam_guard_code'
 at the console.
`
	f := newFixture(t, "3", map[string]string{"srcds_run": "x"})
	put(t, filepath.Join(f.depot, "account"), "bob s3cret guard=F4K3X")
	login := func(line string) (int, string) {
		t.Helper()
		return f.run(t, "+runscript", f.script(t, "@ShutdownOnFailedCommand 1", "@NoPromptForPassword 1", `force_install_dir "`+f.dir+`"`, line, "app_update 222860", "quit"))
	}
	code, out := login(`login "bob" "s3cret"`)
	if code != 5 || !strings.Contains(out, guardLines+"Steam Guard code:FAILED (Account Logon Denied)\n") || strings.Contains(out, "Success!") {
		t.Errorf("no code: exit %d:\n%s", code, out)
	}
	code, out = login(`login "bob" "s3cret" "WRONG"`)
	if code != 5 || !strings.Contains(out, "Steam Guard code provided.\n"+guardLines+"Steam Guard code:FAILED (Invalid Login Auth Code)\n") {
		t.Errorf("wrong code: exit %d:\n%s", code, out)
	}
	if code, out = login(`login "bob"`); code != 5 {
		t.Errorf("nothing cached yet: exit %d:\n%s", code, out)
	}
	if code, out = login(`login "bob" "wrong" "F4K3X"`); code != 5 || !strings.Contains(out, "FAILED (Invalid Password)") {
		t.Errorf("wrong password: exit %d:\n%s", code, out)
	}
	code, out = login(`login "bob" "s3cret" "F4K3X"`)
	if code != 0 || !strings.Contains(out, "Success! App '222860' fully installed.") || strings.Contains(out, "not been authenticated") {
		t.Fatalf("right code: exit %d:\n%s", code, out)
	}
	cfg := readString(filepath.Join(f.home, ".local/share/Steam/config/config.vdf"))
	if !strings.Contains(cfg, `"bob"`) || !strings.Contains(cfg, `"`+connectKey("bob")+`"`) || strings.Contains(cfg, "s3cret") {
		t.Errorf("config.vdf:\n%s", cfg)
	}
	// Cached now: the name alone, and the password without a code.
	if code, out = login(`login "bob"`); code != 0 {
		t.Errorf("cached: exit %d:\n%s", code, out)
	}
	if code, out = login(`login "bob" "s3cret"`); code != 0 {
		t.Errorf("cached, password: exit %d:\n%s", code, out)
	}
	log := readString(filepath.Join(f.depot, "log"))
	for _, w := range []string{"login bob password=ok guard=missing", "login bob password=ok guard=wrong", "login bob guard=ok", "login bob cached"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "s3cret") {
		t.Errorf("the log holds the password:\n%s", log)
	}

	// A mobile authenticator; the prompt reads stdin without
	// @NoPromptForPassword 1.
	f = newFixture(t, "3", map[string]string{"srcds_run": "x"})
	put(t, filepath.Join(f.depot, "account"), "amy pw twofactor=ABCDE")
	code, out = f.run(t, "+@ShutdownOnFailedCommand", "1", "+@NoPromptForPassword", "1", "+login", "amy", "pw", "+quit")
	if code != 5 || !strings.Contains(out, "Enter the current code from your Steam Guard Mobile Authenticator app\nTwo-factor code:FAILED (Account logon denied, need two-factor code)\n") {
		t.Errorf("no 2fa code: exit %d:\n%s", code, out)
	}
	code, out = f.run(t, "+@ShutdownOnFailedCommand", "1", "+@NoPromptForPassword", "1", "+login", "amy", "pw", "XXXXX", "+quit")
	if code != 5 || !strings.Contains(out, "Two-factor code:FAILED (Two-factor code mismatch)\n") {
		t.Errorf("wrong 2fa code: exit %d:\n%s", code, out)
	}
	defer func(r io.Reader) { stdin = r }(stdin)
	stdin = strings.NewReader("")
	if code, out = f.run(t, "+@ShutdownOnFailedCommand", "1", "+login", "amy", "pw", "+quit"); code != 5 || !strings.Contains(out, "Two-factor code:FAILED") {
		t.Errorf("prompt at EOF: exit %d:\n%s", code, out)
	}
	stdin = strings.NewReader("ABCDE\n")
	if code, out = f.run(t, "+@ShutdownOnFailedCommand", "1", "+login", "amy", "pw", "+quit"); code != 0 {
		t.Errorf("code from the prompt: exit %d:\n%s", code, out)
	}
}

func TestTokenizer(t *testing.T) {
	cases := []struct{ in, want string }{
		{`login "a b" c  "" d`, "login|a b|c||d"},
		{`login bob pa:ss`, "login|bob|pa|:|ss"},
		{`login bob "pa:ss{}()'//x"`, "login|bob|pa:ss{}()'//x"},
		{`x a{b}c(d)e'f`, "x|a|{|b|}|c|(|d|)|e|'|f"},
		{`x a"b c"d`, "x|a|b c|d"},
		{"x \"open end", "x|open end"},
		{"x\ta  b", "x|a|b"},
		{"x pä", "x|p|\xc3|\xa4"},
		{`// all comment`, ""},
	}
	for _, c := range cases {
		if got := strings.Join(tokenize(c.in), "|"); got != c.want {
			t.Errorf("tokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	split := []struct{ in, want string }{
		{"a 1;b 2\nc", "a 1|b 2|c"},
		{`login bob "p;w"; quit`, `login bob "p;w"| quit`},
		{"login bob pw//secret; quit\nnext", "login bob pw|next"},
		{`login bob "pw//x" // note`, `login bob "pw//x" `},
		{"a \"q\nb\"", "a \"q|b\""},
	}
	for _, c := range split {
		if got := strings.Join(splitCommands(c.in), "|"); got != c.want {
			t.Errorf("splitCommands(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := strings.Join(argvText([]string{"ignored", "+login", "bob", "p w", "+quit"}), "|"); got != `login bob "p w"|quit` {
		t.Errorf("argvText: %q", got)
	}
}

func TestPasswordsNeedQuotes(t *testing.T) {
	for _, pw := range []string{"pa:ss", "a{b}", "x(y)", "it's", "http://x", "a;b", "pä"} {
		f := newFixture(t, "3", map[string]string{"srcds_run": "x"})
		put(t, filepath.Join(f.depot, "account"), "bob "+pw)
		script := func(login string) (int, string) {
			return f.run(t, "+runscript", f.script(t, "@ShutdownOnFailedCommand 1", "@NoPromptForPassword 1", login, "quit"))
		}
		if code, out := script("login bob " + pw); code != 5 {
			t.Errorf("%q unquoted: exit %d:\n%s", pw, code, out)
		}
		if code, out := script(`login "bob" "` + pw + `"`); code != 0 {
			t.Errorf("%q quoted: exit %d:\n%s", pw, code, out)
		}
		if log := readString(filepath.Join(f.depot, "log")); strings.Contains(log, pw) {
			t.Errorf("%q: the log holds the password:\n%s", pw, log)
		}
	}
	// On the command line only an argument with a space is quoted.
	f := newFixture(t, "3", map[string]string{"srcds_run": "x"})
	put(t, filepath.Join(f.depot, "account"), "bob pa:ss")
	if code, out := f.run(t, "+@ShutdownOnFailedCommand", "1", "+login", "bob", "pa:ss", "+quit"); code != 5 {
		t.Errorf("argv pa:ss: exit %d:\n%s", code, out)
	}
	if log := readString(filepath.Join(f.depot, "log")); !strings.Contains(log, "login bob received 3 word(s) after the name, of length 2,1,2") || !strings.Contains(log, "unquoted break character") {
		t.Errorf("log:\n%s", log)
	}
}

func TestForceInstallDirAndLongCommands(t *testing.T) {
	f := newFixture(t, "3", map[string]string{"srcds_run": "x"})
	if code, out := f.run(t, "+runscript", f.script(t, "@ShutdownOnFailedCommand 1", "force_install_dir /tmp/a:b", "quit")); code != 8 || !strings.Contains(out, "got 3 words") {
		t.Errorf("unquoted colon: exit %d:\n%s", code, out)
	}
	long := "login anonymous " + strings.Repeat("x", 500)
	code, out := f.run(t, "+runscript", f.script(t, long, "app_info_print 222860", "quit"))
	if code != 8 || !strings.Contains(out, overflowWarning) || !strings.Contains(out, "ERROR! Not logged on.") {
		t.Errorf("long command: exit %d:\n%s", code, out)
	}
}
