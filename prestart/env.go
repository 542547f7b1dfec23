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

// IdmapPinsEnv, when set, pins the idmapped layers' user namespaces in
// that directory for the boot (pinnedIdmap; IdmapPinDir is the usual
// place). By default nothing is pinned: each pin is a mount in PID 1's
// table, and every namespace systemd sets up afterwards, for any unit on
// the host, clones that table: about 0.9 ms more per start for each mount
// (docs/PERFORMANCE.md), against about 5 ms to make the namespace anew at
// each start. With more than a handful of servers, pins cost more than
// they save.
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
	return Config{Layout: layout.FromEnv(), UID: uid, GID: gid, Log: log, IdmapPins: os.Getenv(IdmapPinsEnv)}, nil
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
