// Command steamcmd impersonates Valve's steamcmd for the tests of `left4me
// game`: it runs commands given as +command arguments and in +runscript
// files, "downloads" app 222860 from a local depot directory, prints
// steamcmd's progress and result lines, writes the tree and
// steamapps/appmanifest_222860.acf, and can be told to fail halfway.
//
// Each imitation cites its source beside it; where the stand-in is
// harsher than the real one, or no source was found, it says so. In short:
//
//   - commands and words as tier1's console splits them (parse.go): `;`
//     and newlines end a command, `//` comments, double quotes keep
//     everything, an unquoted { } ( ) ' : is a word by itself;
//   - a changed file is rewritten IN PLACE (open O_WRONLY|O_TRUNC on the
//     existing path, same inode); validate, or depot/rewrite "all",
//     rewrites every file in place;
//   - an anonymous Linux app_update of a first install fails with
//     "Invalid platform" unless a windows pass ran first; a windows pass
//     also installs the Windows depot's files, which a linux pass leaves;
//   - an account logs in only with its password, and a Steam Guard code
//     when the account has one and ROOT holds no cached login; the login
//     is cached in ROOT/config/config.vdf (login.go);
//   - Debian's layout: the Steam root is ${XDG_DATA_HOME:-$HOME/.local/
//     share}/Steam (steamRoot), where the login and app info caches live;
//   - app_info_print answers from ROOT/appcache/appinfo.vdf when it
//     exists, even after app_info_update 1 (appinfo.go);
//   - the process chain (chain.go): steamcmd.sh's bash runs the binary as
//     its child, restarts it on exit 42 after a self-update (first run,
//     or depot/selfupdate), dies alone of SIGTERM (ignores it as a PID
//     namespace's init); the binary ignores SIGPIPE and block-buffers
//     its output to a pipe;
//     linux32/steamclient.so is unpacked below ROOT/steamcmd (HOME/.steam/
//     steamcmd on an install of the package before 0~20180105-4), and
//     HOME/.steam/root and HOME/.steam/steam are links to ROOT, as the
//     wrapper makes them (debianWrapper);
//   - app_update stages the download in steamapps/downloading/222860/
//     and leaves it, with the manifest's StateFlags of the failure, when
//     it fails (staging.go);
//   - workshop_download_item 550 ID into steamapps/workshop/content/550/ID,
//     "Success. Downloaded item ID to ..." or "ERROR! Download item ID
//     failed (RESULT).", exit status 0 either way (workshop.go).
//
// The depot is $STEAMCMD_STANDIN_DEPOT, else the directory "depot" beside
// the executable:
//
//	build            the build id app_update installs and app_info_print
//	                 reports (unless its cache answers)
//	files/...        the tree app_update installs (modes kept)
//	files-windows/.. optional: what a windows pass adds; without it the
//	                 pass adds srcds.exe, bin/engine.dll, bin/tier0.dll and
//	                 left4dead2/bin/server.dll (a few bytes each)
//	fail             optional "N [exit0] [STATE]": at the first file to
//	                 write from position N of the sorted depot files on
//	                 (after N written, when all change; the same file in
//	                 every run), write half of it in place and fail with
//	                 state STATE (default 0x602), with status 8 or, with
//	                 exit0, 0 (the real steamcmd has exited 0 after
//	                 failures)
//	errors           optional states, one per app_update run to come
//	                 (0x402, 0x202, ..., or nosub): update.go nextError
//	rewrite          optional "changed" (default) or "all": every
//	                 app_update rewrites every file in place, as validate
//	                 does
//	invalidplatform  optional "first" (default: anonymous linux fails
//	                 only without a complete install) or "always" (fails
//	                 unless a windows pass ran in the same process)
//	account          optional "USER PASSWORD [guard=CODE|twofactor=CODE]":
//	                 the account that may log in, with an e-mail Steam
//	                 Guard code or a mobile authenticator's code
//	delay            optional duration to sleep after each file downloaded
//	selfupdate       optional: the next run updates steamcmd itself first
//	log              appended: argv and what was done, never a password
//	workshop/ID/...  optional: what workshop_download_item 550 ID
//	                 downloads; workshop/ID.fail its failure result
//	                 instead (workshop.go)
//
// Exit status: 0; 8 after a failed command (5 after a failed login);
// with @ShutdownOnFailedCommand 1 at the first failed command.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const appID = "222860"

func main() {
	if os.Getenv(roleEnv) == "binary" {
		os.Exit(binaryMain())
	}
	os.Exit(shellMain())
}

// session is the state of one steamcmd process.
type session struct {
	out        io.Writer
	depot      string
	home       string
	root       string // the Steam root (steamRoot); "" without HOME
	log        *os.File
	installDir string
	platform   string
	loggedIn   string // "" until login
	windowsRan bool
	shutdown   bool // @ShutdownOnFailedCommand 1
	noPrompt   bool // @NoPromptForPassword 1
	exitCode   int  // the status of the first failure
	exitSet    bool
	failed     bool
	quit       bool
	password   string // the account's, to spot it in argv
}

type exitNow struct{}

func run(argv []string, out io.Writer, getenv func(string) string) (code int) {
	s := &session{out: out, platform: "linux", home: getenv("HOME")}
	s.root = steamRoot(s.home, getenv("XDG_DATA_HOME"))
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
	if a := s.account(); a != nil {
		s.password = a.password
	}
	s.logf("argv %q", argv[1:])
	s.logf("uid %d gid %d", os.Getuid(), os.Getgid()) // who left4me ran it as
	if s.password != "" && strings.Contains(strings.Join(argv, " "), s.password) {
		s.logf("password-in-argv")
	}
	s.debianWrapper()
	s.printf("Redirecting stderr to '%s/logs/stderr.txt'", s.root)
	if s.selfUpdate(getenv(roleEnv) == "binary") {
		return restartCode
	}
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
	for _, text := range argvText(argv[1:]) {
		s.execText(text)
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

// setExit sets the exit status unless an earlier failure set one.
func (s *session) setExit(code int) {
	if !s.exitSet {
		s.exitCode, s.exitSet = code, true
	}
}

// fail reports a failed command; with @ShutdownOnFailedCommand it ends the
// process.
func (s *session) fail(format string, a ...any) {
	s.printf(format, a...)
	s.setExit(8)
	s.failed = true
	if s.shutdown {
		panic(exitNow{})
	}
}

// execText runs the commands of a text (a script, a +command).
func (s *session) execText(text string) {
	for _, cmd := range splitCommands(text) {
		if len(cmd) >= maxCommand-1 {
			s.printf("%s", overflowWarning)
			s.logf("command of %d bytes skipped", len(cmd))
			continue
		}
		w := tokenize(cmd)
		if unquotedBreak(cmd) {
			s.logf("tokenizer: unquoted break character in a %q command: %d word(s)", first(w), len(w))
		}
		s.exec(w)
		if s.quit {
			return
		}
	}
}

// unquotedBreak reports whether cmd has one of breakSet outside quotes.
func unquotedBreak(cmd string) bool {
	quoted := false
	for i := 0; i < len(cmd); i++ {
		switch c := cmd[i]; {
		case c == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(breakSet, c) >= 0:
			return true
		}
	}
	return false
}

func first(w []string) string {
	if len(w) == 0 {
		return ""
	}
	return w[0]
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
		s.noPrompt = arg(0) == "1"
	case "@ssteamcmdforceplatformtype":
		s.platform = arg(0)
	case "force_install_dir":
		s.installDir = ""
		switch {
		case len(args) != 1:
			// Harsher than known: a path the tokenizer cut (an
			// unquoted { } ( ) ' :) is refused, not installed to.
			s.fail("ERROR! force_install_dir takes one path, got %d words (standin: quote it)", len(args))
		case !filepath.IsAbs(arg(0)):
			// Harsher: the real one ignores a relative path silently
			// (ValveSoftware/steam-for-linux#11970).
			s.fail("ERROR! force_install_dir needs an absolute path (standin)")
		default:
			s.installDir = arg(0)
		}
	case "runscript":
		s.runscript(arg(0))
	case "login":
		s.login(args)
	case "app_update":
		s.appUpdate(arg(0), arg(1) == "validate")
	case "app_info_update":
		// Refreshes nothing the stand-in's app_info_print would show:
		// see appInfo.
		s.logf("app_info_update %s", arg(0))
	case "app_info_print":
		s.appInfo(arg(0))
	case "workshop_download_item":
		s.workshopDownload(arg(0), arg(1))
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
	s.execText(string(b))
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
