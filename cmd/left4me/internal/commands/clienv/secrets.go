package clienv

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/left4me/left4me/cmd/internal/relay"
	"github.com/left4me/left4me/spec"
)

// SpecModeWarning says when the spec file holds a password (a config line or
// the arguments setting rcon_password, sv_password, sm_..._password, by
// the relay's Redact rule) and local users other than root's group can
// read it: a spec written by hand with the shell's umask is 0644. A
// warning, not a problem: the spec itself is valid, and the fix is the
// operator's chmod. nil when the file cannot be looked at.
func SpecModeWarning(file string, s *spec.Spec) error {
	if !holdsSecret(s) {
		return nil
	}
	st, err := os.Lstat(file)
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	mode := st.Mode().Perm()
	var who, fix []string
	if mode&0o004 != 0 {
		who = append(who, "every local user")
		fix = append(fix, "chmod 640 "+file)
	}
	// Group-readable is what create writes (0640), for root's group; any
	// other group's members would read the password.
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && mode&0o040 != 0 && sys.Gid != 0 {
		who = append(who, fmt.Sprintf("group %d", sys.Gid))
		fix = append(fix, "chown root:root "+file)
	}
	if len(who) == 0 {
		return nil
	}
	return fmt.Errorf("mode %04o: %s can read it, and it holds a password (rcon_password, sv_password or another *password setting); run `%s`", mode, strings.Join(who, " and "), strings.Join(fix, " && "))
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
