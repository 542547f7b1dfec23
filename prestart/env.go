package prestart

import (
	"fmt"
	"io"
	"os"

	"github.com/left4me/left4me/spec/layout"
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
