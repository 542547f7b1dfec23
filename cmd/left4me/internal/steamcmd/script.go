// Package steamcmd drives Valve's steamcmd: it writes the command script,
// hands it over without putting a password in argv or on disk, follows the
// output (progress, success, errors) and reads the app manifest and
// app_info that tell which build is installed and which is current.
package steamcmd

import (
	"fmt"
	"strconv"
	"strings"
)

// AppID is the Left 4 Dead 2 dedicated server.
const AppID = 222860

// Job is one app_update run.
type Job struct {
	InstallDir string
	Login      string // "" for anonymous
	// Password may be "" with a Login: steamcmd then uses the login it
	// cached on an earlier run (in its HOME).
	Password string
	// GuardCode is a Steam Guard code for a first login (steamcmd's
	// "login USER PASSWORD CODE"); steamcmd caches the login in its HOME,
	// so later runs need neither code nor, then, a password.
	GuardCode string
	// WindowsFirst is the workaround for anonymous Linux downloads of
	// 222860, which fail with "Invalid platform" since late 2024: install
	// as windows first, then update as linux with validate.
	WindowsFirst bool
	Validate     bool
}

// Script returns the steamcmd script for the job. It fails on values that
// a script line cannot carry.
func (j Job) Script() (string, error) {
	login := "anonymous"
	if j.Login != "" {
		if err := scriptWord("login name", j.Login); err != nil {
			return "", err
		}
		// Every word quoted: unquoted, steamcmd's tokenizer treats
		// { } ( ) ' : and // (a comment) specially.
		login = quote(j.Login)
		if j.Password != "" {
			if err := scriptWord("password", j.Password); err != nil {
				return "", err
			}
			login += " " + quote(j.Password)
			if j.GuardCode != "" {
				if err := scriptWord("Steam Guard code", j.GuardCode); err != nil {
					return "", err
				}
				login += " " + quote(j.GuardCode)
			}
		}
	}
	if err := scriptWord("install directory", j.InstallDir); err != nil {
		return "", err
	}
	app := strconv.Itoa(AppID)
	lines := []string{
		// Stop at the first failed command instead of carrying on to a
		// linux pass after a failed windows pass, and never wait for a
		// password or Steam Guard code that nobody can type.
		"@ShutdownOnFailedCommand 1",
		"@NoPromptForPassword 1",
		"force_install_dir " + quote(j.InstallDir),
		"login " + login,
	}
	validate := ""
	if j.Validate {
		validate = " validate"
	}
	if j.WindowsFirst {
		lines = append(lines,
			"@sSteamCmdForcePlatformType windows",
			"app_update "+app,
			"@sSteamCmdForcePlatformType linux",
			"app_update "+app+" validate")
	} else {
		lines = append(lines, "app_update "+app+validate)
	}
	lines = append(lines, "quit")
	return strings.Join(lines, "\n") + "\n", nil
}

// InfoScript asks for the current public build of the app.
func InfoScript() string {
	return strings.Join([]string{
		"@ShutdownOnFailedCommand 1",
		"@NoPromptForPassword 1",
		"login anonymous",
		"app_info_update 1",
		"app_info_print " + strconv.Itoa(AppID),
		"quit",
	}, "\n") + "\n"
}

// scriptWord refuses what a steamcmd script line cannot hold: it has no
// escape for a double quote, and a line ends at a newline.
func scriptWord(what, s string) error {
	if strings.ContainsAny(s, "\"\r\n\x00") {
		return fmt.Errorf("steamcmd: the %s contains a double quote, a line break or a NUL, which a steamcmd script cannot carry", what)
	}
	return nil
}

// quote wraps s in double quotes, which steamcmd's tokenizer takes as one
// word with every character kept (scriptWord refuses a double quote).
func quote(s string) string { return `"` + s + `"` }

// Redact replaces every occurrence of secret in s with ***.
func Redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "***")
}
