package prestart

import (
	"fmt"
	"io"
	"os"

	"github.com/left4me/left4me/spec/layout"
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
