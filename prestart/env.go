package prestart

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/left4me/left4me/spec/layout"
)

// ServerUser is the system user every server runs as (packaging/sysusers.conf).
const ServerUser = "left4me"

// ConfigFromEnv builds the helpers' Config from LEFT4ME_* and the server
// user's entry in /etc/passwd.
func ConfigFromEnv(log io.Writer) (Config, error) {
	uid, gid, err := lookupUser("/etc/passwd", ServerUser)
	if err != nil {
		return Config{}, fmt.Errorf("user %q: %w (systemd-sysusers creates it from sysusers.d/left4me.conf)", ServerUser, err)
	}
	if uid == 0 {
		return Config{}, fmt.Errorf("user %q has uid 0; the server must never run as root", ServerUser)
	}
	return Config{Layout: layout.FromEnv(), UID: uid, GID: gid, Log: log}, nil
}

// Fail prints err and exits 1. Under systemd (JOURNAL_STREAM set) each line
// carries the <3> prefix so journald records it as an error, and no program
// name, which the journal already shows.
func Fail(prog string, err error) {
	prefix := prog + ": "
	if os.Getenv("JOURNAL_STREAM") != "" {
		prefix = "<3>"
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(os.Stderr, "%s%s\n", prefix, line)
	}
	os.Exit(1)
}
