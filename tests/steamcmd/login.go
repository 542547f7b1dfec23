package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// stdin is where a Steam Guard code is read when @NoPromptForPassword is
// not 1 (a variable for the tests).
var stdin io.Reader = os.Stdin

// exitLogin is steamcmd's exit status after a failed login: 5, e.g. for
// "Login Failure: Two-factor code mismatch (88)" and "Login Failure: Rate
// Limit Exceeded (84)" (list in ValveSoftware/steam-for-linux#4341).
const exitLogin = 5

// account is the depot's account file: "USER PASSWORD [guard=CODE |
// twofactor=CODE]".
type account struct {
	user, password string
	guard          string // the e-mail Steam Guard code, or
	twoFactor      string // the mobile authenticator's code
}

func (s *session) account() *account {
	f := strings.Fields(readString(filepath.Join(s.depot, "account")))
	if len(f) < 2 {
		return nil
	}
	a := &account{user: f[0], password: f[1]}
	for _, x := range f[2:] {
		if v, ok := strings.CutPrefix(x, "guard="); ok {
			a.guard = v
		} else if v, ok := strings.CutPrefix(x, "twofactor="); ok {
			a.twoFactor = v
		}
	}
	return a
}

// failLogin reports a failed login with steamcmd's status for it.
func (s *session) failLogin(format string, a ...any) {
	s.setExit(exitLogin)
	s.fail(format, a...)
}

// login runs `login USER [PASSWORD [CODE]]`: the Steam Guard code is the
// third argument (LinuxGSM issue #4791: "steamcmd +login USER PASS GUARD
// +@NoPromptForPassword 1", then "only ever call steamcmd +login USER"),
// needed once per computer (Valve Developer Community, SteamCMD: "check
// your e-mail for your Steam Guard access code and enter it (you'll only
// need to do this once per computer)",
// https://developer.valvesoftware.com/w/index.php?title=SteamCMD&oldid=176786).
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
	// What login received, never the password: how many words followed
	// the name, and their lengths (an unquoted { } ( ) ' : splits one).
	lens := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		lens = append(lens, fmt.Sprint(len(a)))
	}
	s.logf("login %s received %d word(s) after the name, of length %s", user, len(args)-1, strings.Join(lens, ","))
	// The lines before "Logging in user" when a password, and a code, come
	// with the command (dyc3/steamguard-cli#447, steamcmd of 2025:
	// "Logging in using username/password." / "Steam Guard code
	// provided.").
	if len(args) >= 2 {
		s.printf("Logging in using username/password.")
	}
	if len(args) >= 3 {
		s.printf("Steam Guard code provided.")
	}
	s.printf("Logging in user '%s' to Steam Public...", user)
	acct := s.account()
	cached := s.cachedLogin(user)
	switch {
	case acct == nil || acct.user != user:
		s.logf("login %s: unknown account", user)
		s.failLogin("FAILED (Invalid Password)")
		return
	case len(args) < 2:
		if cached {
			s.logf("login %s cached", user)
			s.loggedIn = user
			s.printf("OK")
			return
		}
		s.logf("login %s: no password, none cached", user)
		s.failLogin("FAILED (Login Failure: no cached credentials)")
		return
	case args[1] != acct.password:
		s.logf("login %s password=wrong", user)
		s.failLogin("FAILED (Invalid Password)")
		return
	}
	if (acct.guard != "" || acct.twoFactor != "") && !cached && !s.steamGuard(acct, args) {
		return
	}
	s.logf("login %s password=ok", user)
	if err := s.cacheLogin(user); err != nil {
		s.logf("login %s: caching the login failed: %v", user, err)
	}
	s.loggedIn = user
	s.printf("OK")
}

// steamGuard asks for the code a computer without a cached login needs,
// and reports whether the one given is right. A right code on the login
// line passes silently; a missing or wrong one gets steamcmd's lines
// (dyc3/steamguard-cli#447 shows them repeated after a wrong code given
// on the line): for an e-mail code as in makson96/Recultis#31 and
// steamguard-cli#447, with "Steam Guard code:FAILED (Account Logon
// Denied)" when none
// comes (game-ci/steam-deploy#15); for a mobile authenticator "Enter the
// current code from your Steam Guard Mobile Authenticator app" /
// "Two-factor code:FAILED (Account logon denied, need two-factor code)"
// (shadoxxhd/steamworkshopdownloader#48, truckersmp-cli/truckersmp-cli
// #353). Without @NoPromptForPassword 1 the prompt reads a line from
// stdin; at its end (a pipe, /dev/null) the code is missing. A wrong code
// fails like a wrong password: status 5, nothing cached. Its text:
// "Two-factor code mismatch" is steamcmd's (steam-for-linux#4341, "Login
// Failure: Two-factor code mismatch (88)"); "Invalid Login Auth Code" for
// an e-mail code is EResult 65's name (Jessecar96/SteamBot#678
// "InvalidLoginAuthCode"), not a steamcmd line found anywhere.
func (s *session) steamGuard(acct *account, args []string) bool {
	want, prompt := acct.guard, "Steam Guard code:"
	if acct.twoFactor != "" {
		want, prompt = acct.twoFactor, "Two-factor code:"
	}
	code := ""
	if len(args) >= 3 {
		code = args[2]
		if code == want {
			s.logf("login %s guard=ok", acct.user)
			return true
		}
	}
	if acct.twoFactor != "" {
		s.printf("Enter the current code from your Steam Guard Mobile Authenticator app")
	} else {
		s.printf("This computer has not been authenticated for your account using Steam Guard.")
		s.printf("Please check your email for the message from Steam, and enter the Steam Guard")
		s.printf(" code from that message.")
		s.printf("You can also enter this code at any time using 'set_steam_guard_code'")
		s.printf(" at the console.")
	}
	if len(args) < 3 && !s.noPrompt {
		fmt.Fprint(s.out, prompt)
		prompt = ""
		if line, err := bufio.NewReader(stdin).ReadString('\n'); err == nil || line != "" {
			code = strings.TrimSpace(line)
		}
	}
	switch {
	case code == want:
		s.logf("login %s guard=ok", acct.user)
		return true
	case code == "" && acct.twoFactor != "":
		s.logf("login %s password=ok guard=missing", acct.user)
		s.failLogin("%sFAILED (Account logon denied, need two-factor code)", prompt)
	case code == "":
		s.logf("login %s password=ok guard=missing", acct.user)
		s.failLogin("%sFAILED (Account Logon Denied)", prompt)
	case acct.twoFactor != "":
		s.logf("login %s password=ok guard=wrong", acct.user)
		s.failLogin("%sFAILED (Two-factor code mismatch)", prompt)
	default:
		s.logf("login %s password=ok guard=wrong", acct.user)
		s.failLogin("%sFAILED (Invalid Login Auth Code)", prompt)
	}
	return false
}

// configPath is where steamcmd keeps a login below HOME:
// Steam/config/config.vdf, whose Accounts, MTBF and ConnectCache entries
// let `login USER` work without password or code (arma-actions/
// workshop-upload#2: copy them "from /home/steam/Steam/config/config.vdf
// ... Then only `login <username>` can be used"; game-ci/steam-deploy
// does the same).
func (s *session) configPath() string {
	return filepath.Join(s.root, "config", "config.vdf")
}

// connectKey is the ConnectCache key of a user: the CRC32 of the name in
// hex with "1" after it (ztgasdf/steampkg README: "username =
// f85e06771").
func connectKey(user string) string {
	return fmt.Sprintf("%x1", crc32.ChecksumIEEE([]byte(user)))
}

// cachedLogin reports whether config.vdf holds a login of user: the user
// under Accounts and a token under its ConnectCache key.
func (s *session) cachedLogin(user string) bool {
	if s.home == "" {
		return false
	}
	users, tokens := parseConfig(readString(s.configPath()))
	return users[user] && tokens[connectKey(user)] != ""
}

// parseConfig reads back what cacheLogin writes: the names under
// Accounts and the ConnectCache tokens.
func parseConfig(text string) (users map[string]bool, tokens map[string]string) {
	users, tokens = map[string]bool{}, map[string]string{}
	var path []string
	var key string
	for _, line := range strings.Split(text, "\n") {
		w := tokenize(line)
		switch {
		case len(w) == 1 && w[0] == "{":
			path = append(path, key)
		case len(w) == 1 && w[0] == "}":
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case len(w) == 1:
			key = w[0]
			if len(path) > 0 && path[len(path)-1] == "Accounts" {
				users[key] = true
			}
		case len(w) == 2 && len(path) > 0 && path[len(path)-1] == "ConnectCache":
			tokens[w[0]] = w[1]
		}
	}
	return users, tokens
}

// cacheLogin records user's login in config.vdf with a new token, keeping
// the logins already there.
func (s *session) cacheLogin(user string) error {
	if s.home == "" {
		return nil
	}
	users, tokens := parseConfig(readString(s.configPath()))
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	users[user] = true
	tokens[connectKey(user)] = hex.EncodeToString(b)
	var accts, cache strings.Builder
	for _, u := range sortedKeys(users) {
		fmt.Fprintf(&accts, "\t\t\t\t\t\"%s\"\n\t\t\t\t\t{\n\t\t\t\t\t\t\"SteamID\"\t\t\"76561197960265728\"\n\t\t\t\t\t}\n", u)
	}
	for _, k := range sortedKeys(tokens) {
		fmt.Fprintf(&cache, "\t\t\t\t\t\"%s\"\t\t\"%s\"\n", k, tokens[k])
	}
	text := "\"InstallConfigStore\"\n{\n\t\"Software\"\n\t{\n\t\t\"Valve\"\n\t\t{\n\t\t\t\"Steam\"\n\t\t\t{\n" +
		"\t\t\t\t\"Accounts\"\n\t\t\t\t{\n" + accts.String() + "\t\t\t\t}\n" +
		"\t\t\t\t\"MTBF\"\t\t\"standin\"\n" +
		"\t\t\t\t\"ConnectCache\"\n\t\t\t\t{\n" + cache.String() + "\t\t\t\t}\n" +
		"\t\t\t}\n\t\t}\n\t}\n}\n"
	if err := os.MkdirAll(filepath.Dir(s.configPath()), 0o700); err != nil {
		return err
	}
	return os.WriteFile(s.configPath(), []byte(text), 0o600)
}
