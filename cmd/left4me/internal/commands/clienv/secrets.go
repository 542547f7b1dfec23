package clienv

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/left4me/left4me/cmd/internal/relay"
	"github.com/left4me/left4me/spec"
)

// SpecModeWarning says when others than root can change the spec file
// (its owner, or group or other write bits): they decide what the server
// runs (its config, rcon_password included, its overlays and their
// order); and when it holds a password (a config line or the arguments
// setting rcon_password, sv_password, sm_..._password, by the relay's
// Redact rule) and local users other than root's group can read it: a
// spec written by hand with the shell's umask is 0644. A warning, not a
// problem: the spec itself is valid, and the fix is the operator's chmod.
// nil when the file cannot be looked at.
func SpecModeWarning(file string, s *spec.Spec) error {
	st, err := os.Lstat(file)
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	mode := st.Mode().Perm()
	var warns []string
	if w := writers(file, mode, sys); w != "" {
		warns = append(warns, w)
	}
	if r := readers(file, mode, sys, s); r != "" {
		warns = append(warns, r)
	}
	if len(warns) == 0 {
		return nil
	}
	return errors.New(strings.Join(warns, "; and "))
}

// writers says who besides root can change the file, and the fix.
func writers(file string, mode os.FileMode, sys *syscall.Stat_t) string {
	var who []string
	// (One's own file is no news to its owner, and tests run unprivileged
	// write theirs.)
	if sys.Uid != 0 && int(sys.Uid) != os.Geteuid() {
		who = append(who, fmt.Sprintf("its owner, uid %d,", sys.Uid))
	}
	if mode&0o020 != 0 && sys.Gid != 0 {
		who = append(who, fmt.Sprintf("group %d", sys.Gid))
	}
	if mode&0o002 != 0 {
		who = append(who, "every local user")
	}
	if len(who) == 0 {
		return ""
	}
	return fmt.Sprintf("owned by uid %d, mode %04o: %s can change it, and with it what the server runs (its config, rcon_password included, and its overlays); run `chown root:root %s && chmod go-w %s`",
		sys.Uid, mode, strings.Join(who, " and "), file, file)
}

// readers says who besides root's group can read a password in the file.
func readers(file string, mode os.FileMode, sys *syscall.Stat_t, s *spec.Spec) string {
	if !holdsSecret(s) {
		return ""
	}
	var who, fix []string
	if mode&0o004 != 0 {
		who = append(who, "every local user")
		fix = append(fix, "chmod 640 "+file)
	}
	// Group-readable is what create writes (0640), for root's group; any
	// other group's members would read the password.
	if mode&0o040 != 0 && sys.Gid != 0 {
		who = append(who, fmt.Sprintf("group %d", sys.Gid))
		fix = append(fix, "chown root:root "+file)
	}
	if len(who) == 0 {
		return ""
	}
	return fmt.Sprintf("mode %04o: %s can read it, and it holds a password (rcon_password, sv_password or another *password setting); run `%s`", mode, strings.Join(who, " and "), strings.Join(fix, " && "))
}

func holdsSecret(s *spec.Spec) bool {
	for _, l := range s.Config {
		if relay.HoldsSecret(l) {
			return true
		}
	}
	// +rcon_password x on the command line is two arguments, one command.
	return relay.HoldsSecret(strings.Join(s.Arguments, " "))
}
