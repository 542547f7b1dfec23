package prestart

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/left4me/left4me/spec/layout"

	"github.com/coreos/go-systemd/v22/journal"
)

// ServerUser is the system user every server runs as (packaging/sysusers.conf).
const ServerUser = "left4me"

// IdmapPinsEnv moves the idmap pins away from IdmapPinDir (benchmarks and
// tests that run the helpers outside systemd).
const IdmapPinsEnv = "LEFT4ME_IDMAP_PINS"

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
	pins := IdmapPinDir
	if d := os.Getenv(IdmapPinsEnv); d != "" {
		pins = d
	}
	return Config{Layout: layout.FromEnv(), UID: uid, GID: gid, Log: log, IdmapPins: pins}, nil
}

// PrintError writes err to w (the process's stderr), one line at a time.
// When stderr is the journal's stream (journal.StderrIsJournalStream: the
// JOURNAL_STREAM device and inode are stderr's, not just inherited), each
// line carries the <3> prefix so journald records it as an error, and no
// program name, which the journal shows already; elsewhere, prog: leads.
// The mains exit; this never does.
func PrintError(w io.Writer, prog string, err error) {
	prefix := prog + ": "
	if ok, _ := journal.StderrIsJournalStream(); ok {
		prefix = "<3>"
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}
