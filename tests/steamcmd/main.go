// Command steamcmd impersonates Valve's steamcmd for the tests of `left4me
// game`: it runs commands given as +command arguments and in +runscript
// files, "downloads" app 222860 from a local depot directory, prints
// steamcmd's progress and result lines, writes the tree and
// steamapps/appmanifest_222860.acf, and can be told to fail halfway.
//
// Like the real one it rewrites a changed file IN PLACE (open O_WRONLY|
// O_TRUNC on the existing path, same inode), fails anonymous Linux
// downloads with "Invalid platform" unless a windows pass ran first, logs
// in an account only with its password (and caches the login in HOME),
// and unpacks linux32/steamclient.so below HOME/.steam/steamcmd.
//
// The depot is $STEAMCMD_STANDIN_DEPOT, else the directory "depot" beside
// the executable:
//
//	build      the build id app_update installs and app_info_print reports
//	files/...  the tree app_update installs (modes kept)
//	fail       optional "N [exit0]": after N changed files, write half of
//	           the next one in place and fail, with status 8 or, with
//	           exit0, 0 (the real steamcmd has exited 0 after failures)
//	account    optional "USER PASSWORD": the account that may log in
//	delay      optional duration to sleep after each file (progress demo)
//	log        appended: argv and what was done, never a password
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

const appID = "222860"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Getenv))
}

// session is the state of one steamcmd process.
type session struct {
	out        io.Writer
	depot      string
	home       string
	log        *os.File
	installDir string
	platform   string
	loggedIn   string // "" until login
	windowsRan bool
	shutdown   bool // @ShutdownOnFailedCommand 1
	exitCode   int  // the status of a failure (8, or 0 with exit0)
	failed     bool
	quit       bool
	password   string // the account's, to spot it in argv
}

type exitNow struct{}

func run(argv []string, out io.Writer, getenv func(string) string) (code int) {
	s := &session{out: out, platform: "linux", home: getenv("HOME"), exitCode: 8}
	s.depot = getenv("STEAMCMD_STANDIN_DEPOT")
	if s.depot == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(out, "standin steamcmd: %v\n", err)
			return 1
		}
		s.depot = filepath.Join(filepath.Dir(exe), "depot")
	}
	if f, err := os.OpenFile(filepath.Join(s.depot, "log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err == nil {
		s.log = f
		defer f.Close()
	}
	if acct, err := os.ReadFile(filepath.Join(s.depot, "account")); err == nil {
		if f := strings.Fields(string(acct)); len(f) == 2 {
			s.password = f[1]
		}
	}
	s.logf("argv %q", argv[1:])
	if s.password != "" && strings.Contains(strings.Join(argv, " "), s.password) {
		s.logf("password-in-argv")
	}
	s.printf("Redirecting stderr to '%s/Steam/logs/stderr.txt'", s.home)
	s.bootstrap()
	s.printf("Steam Console Client (c) Valve Corporation - version 1732567890")
	s.printf("-- type 'quit' to exit --")
	s.printf("Loading Steam API...OK")
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(exitNow); !ok {
				panic(r)
			}
			code = s.exitCode
		}
	}()
	for _, c := range argvCommands(argv[1:]) {
		s.exec(c)
		if s.quit {
			break
		}
	}
	if s.failed {
		return s.exitCode
	}
	return 0
}

func (s *session) printf(format string, a ...any) { fmt.Fprintf(s.out, format+"\n", a...) }

func (s *session) logf(format string, a ...any) {
	if s.log != nil {
		fmt.Fprintf(s.log, format+"\n", a...)
	}
}

// bootstrap is what the Debian wrapper does on a first run: unpack
// steamcmd, with linux32/steamclient.so, into HOME/.steam/steamcmd.
func (s *session) bootstrap() {
	if s.home == "" {
		return
	}
	p := filepath.Join(s.home, ".steam", "steamcmd", "linux32", "steamclient.so")
	if _, err := os.Stat(p); err == nil {
		return
	}
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("standin steamclient.so\n"), 0o755)
}

// argvCommands splits "+cmd a b +cmd2" into commands.
func argvCommands(args []string) [][]string {
	var out [][]string
	for _, a := range args {
		if strings.HasPrefix(a, "+") {
			out = append(out, []string{strings.TrimPrefix(a, "+")})
		} else if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], a)
		}
	}
	return out
}

// words splits a script line at blanks, honouring double quotes.
func words(line string) []string {
	var out []string
	var cur strings.Builder
	inQ, have := false, false
	for _, r := range line {
		switch {
		case r == '"':
			inQ, have = !inQ, true
		case (r == ' ' || r == '\t') && !inQ:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// fail reports a failed command; with @ShutdownOnFailedCommand it ends the
// process.
func (s *session) fail(format string, a ...any) {
	s.printf(format, a...)
	s.failed = true
	if s.shutdown {
		panic(exitNow{})
	}
}

func (s *session) exec(c []string) {
	if len(c) == 0 {
		return
	}
	cmd, args := strings.ToLower(c[0]), c[1:]
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch cmd {
	case "@shutdownonfailedcommand":
		s.shutdown = arg(0) == "1"
	case "@nopromptforpassword":
	case "@ssteamcmdforceplatformtype":
		s.platform = arg(0)
	case "force_install_dir":
		s.installDir = arg(0)
		if !filepath.IsAbs(s.installDir) {
			s.fail("ERROR! force_install_dir needs an absolute path (standin)")
		}
	case "runscript":
		s.runscript(arg(0))
	case "login":
		s.login(args)
	case "app_update":
		s.appUpdate(arg(0), arg(1) == "validate")
	case "app_info_update":
	case "app_info_print":
		s.appInfo(arg(0))
	case "quit":
		s.printf("Unloading Steam API...OK")
		s.quit = true
	default:
		s.printf("Command not found: %s", cmd)
	}
}

func (s *session) runscript(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		s.fail("ERROR! Failed to run script %s: %v", path, err)
		return
	}
	s.logf("runscript %s: %d line(s)", path, strings.Count(string(b), "\n"))
	for _, line := range strings.Split(string(b), "\n") {
		w := words(strings.TrimSpace(line))
		if len(w) == 0 || strings.HasPrefix(w[0], "//") {
			continue
		}
		s.exec(w)
		if s.quit {
			return
		}
	}
}

func (s *session) login(args []string) {
	if len(args) == 0 {
		s.fail("ERROR! login: no user")
		return
	}
	user := args[0]
	if user == "anonymous" {
		s.printf("Connecting anonymously to Steam Public...OK")
		s.printf("Waiting for client config...OK")
		s.printf("Waiting for user info...OK")
		s.loggedIn = user
		s.logf("login anonymous")
		return
	}
	s.printf("Logging in user '%s' to Steam Public...", user)
	acct, _ := os.ReadFile(filepath.Join(s.depot, "account"))
	want := strings.Fields(string(acct))
	cache := filepath.Join(s.home, ".standin-cached-login")
	switch {
	case len(want) != 2 || want[0] != user:
		s.logf("login %s: unknown account", user)
		s.fail("FAILED (Invalid Password)")
	case len(args) >= 2 && args[1] == want[1]:
		s.logf("login %s password=ok", user)
		os.WriteFile(cache, []byte(user), 0o600)
		s.loggedIn = user
		s.printf("OK")
	case len(args) >= 2:
		s.logf("login %s password=wrong", user)
		s.fail("FAILED (Invalid Password)")
	default:
		if b, err := os.ReadFile(cache); err == nil && string(b) == user {
			s.logf("login %s cached", user)
			s.loggedIn = user
			s.printf("OK")
			return
		}
		s.logf("login %s: no password, none cached", user)
		s.fail("FAILED (Login Failure: no cached credentials)")
	}
}

func (s *session) appInfo(app string) {
	if s.loggedIn == "" {
		s.fail("ERROR! Not logged on.")
		return
	}
	build := s.build()
	s.printf("AppID : %s, change number : 1/0, last change : Wed Nov 26 12:00:00 2025", app)
	s.printf(`"%s"
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
				"buildid"		"%s"
				"timeupdated"		"1764158400"
			}
		}
	}
}`, app, build)
}

func (s *session) build() string {
	b, _ := os.ReadFile(filepath.Join(s.depot, "build"))
	if v := strings.TrimSpace(string(b)); v != "" {
		return v
	}
	return "1"
}

// depotFile is one file app_update installs.
type depotFile struct {
	rel  string
	mode fs.FileMode
	data []byte
}

func (s *session) appUpdate(app string, validate bool) {
	switch {
	case s.loggedIn == "":
		s.fail("ERROR! Not logged on.")
		return
	case app != appID:
		s.fail("ERROR! Failed to install app '%s' (No subscription)", app)
		return
	case s.installDir == "":
		s.fail("ERROR! no force_install_dir (standin)")
		return
	case s.loggedIn == "anonymous" && s.platform == "linux" && !s.windowsRan:
		s.logf("app_update platform=linux: invalid platform")
		s.fail("ERROR! Failed to install app '%s' (Invalid platform)", app)
		return
	}
	s.logf("app_update %s platform=%s validate=%v dir=%s", app, s.platform, validate, s.installDir)
	s.printf(" Update state (0x3) reconfiguring, progress: 0.00 (0 / 0)")
	if err := s.writeManifest("1026"); err != nil {
		s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
		return
	}
	if s.platform == "windows" {
		s.windowsRan = true
		s.finish(app)
		return
	}
	files, err := s.depotFiles()
	if err != nil {
		s.fail("ERROR! Failed to install app '%s' (No connection: %v)", app, err)
		return
	}
	failAfter, exit0 := s.failPlan()
	var total, done int64
	for _, f := range files {
		total += int64(len(f.data))
	}
	delay, _ := time.ParseDuration(strings.TrimSpace(readString(filepath.Join(s.depot, "delay"))))
	changed := 0
	state := "(0x61) downloading"
	if validate {
		state = "(0x81) verifying update"
	}
	for _, f := range files {
		dst := filepath.Join(s.installDir, f.rel)
		if cur, err := os.ReadFile(dst); err == nil && string(cur) == string(f.data) {
			if st, err := os.Stat(dst); err == nil && st.Mode().Perm() == f.mode.Perm() {
				done += int64(len(f.data))
				continue
			}
		}
		if failAfter >= 0 && changed == failAfter {
			// The failure halfway: half of the file, written in place.
			s.writeFile(dst, f.data[:len(f.data)/2], f.mode)
			s.logf("failing halfway at %s", f.rel)
			if exit0 {
				s.exitCode = 0
			}
			s.fail("Error! App '%s' state is 0x602 after update job.", app)
			return
		}
		if err := s.writeFile(dst, f.data, f.mode); err != nil {
			s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
			return
		}
		changed++
		done += int64(len(f.data))
		pct := 100.0
		if total > 0 {
			pct = float64(done) * 100 / float64(total)
		}
		s.printf(" Update state %s, progress: %.2f (%d / %d)", state, pct, done, total)
		if delay > 0 {
			time.Sleep(delay)
		}
	}
	if err := s.removeStale(files); err != nil {
		s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
		return
	}
	s.logf("app_update wrote %d file(s)", changed)
	s.finish(app)
}

func (s *session) finish(app string) {
	if err := s.writeManifest("4"); err != nil {
		s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
		return
	}
	s.printf("Success! App '%s' fully installed.", app)
}

// writeFile rewrites an existing file in place, as the real steamcmd may:
// same path, same inode, truncated and written. A new file is created.
func (s *session) writeFile(dst string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, mode.Perm())
	}
	return err
}

func (s *session) manifestPath() string {
	return filepath.Join(s.installDir, "steamapps", "appmanifest_"+appID+".acf")
}

// writeManifest writes the app manifest in place: StateFlags 1026 while
// an update runs, 4 when complete, with the depot's build only then.
func (s *session) writeManifest(flags string) error {
	build := "0"
	if old, err := os.ReadFile(s.manifestPath()); err == nil {
		if i := strings.Index(string(old), `"buildid"`); i >= 0 {
			if f := strings.Fields(string(old)[i:]); len(f) > 1 {
				build = strings.Trim(f[1], `"`)
			}
		}
	}
	if flags == "4" {
		build = s.build()
	}
	text := fmt.Sprintf(`"AppState"
{
	"appid"		"%s"
	"Universe"		"1"
	"name"		"Left 4 Dead 2 Dedicated Server"
	"StateFlags"		"%s"
	"installdir"		"Left 4 Dead 2 Dedicated Server"
	"LastUpdated"		"%d"
	"buildid"		"%s"
}
`, appID, flags, time.Now().Unix(), build)
	return s.writeFile(s.manifestPath(), []byte(text), 0o644)
}

func (s *session) depotFiles() ([]depotFile, error) {
	root := filepath.Join(s.depot, "files")
	var out []depotFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, depotFile{rel: rel, mode: st.Mode(), data: data})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, err
}

// failPlan reads depot/fail: -1 when no failure is asked for.
func (s *session) failPlan() (after int, exit0 bool) {
	f := strings.Fields(readString(filepath.Join(s.depot, "fail")))
	if len(f) == 0 {
		return -1, false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return -1, false
	}
	return n, len(f) > 1 && f[1] == "exit0"
}

// removeStale deletes the files a previous run installed that the depot
// no longer has, as steamcmd does from its depot manifests.
func (s *session) removeStale(files []depotFile) error {
	list := filepath.Join(s.installDir, "steamapps", "standin_files.txt")
	now := map[string]bool{}
	var names []string
	for _, f := range files {
		now[f.rel] = true
		names = append(names, f.rel)
	}
	for _, old := range strings.Split(readString(list), "\n") {
		if old != "" && !now[old] && !strings.Contains(old, "..") {
			if err := os.Remove(filepath.Join(s.installDir, old)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return s.writeFile(list, []byte(strings.Join(names, "\n")+"\n"), 0o644)
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
