// Package game is left4me game: install, update, status and gc of the
// shared game installation.
package game

import (
	"fmt"
	"os/user"
	"strconv"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
)

// Env is what the game commands use.
type Env struct {
	*dayops.Env
	// SteamUser is who steamcmd runs as when left4me runs as root
	// (LookupSteamUser); nil, nil: root itself (tests only).
	SteamUser func() (*steamcmd.User, error)
}

// SteamUserName is the user steamcmd runs as (packaging/sysusers.conf).
const SteamUserName = "left4me-steam"

// LookupSteamUser finds SteamUserName. steamcmd never runs as root when
// left4me can help it (game.Update falls back to root only where the
// installation cannot be idmapped), so a missing user is an error.
func LookupSteamUser() (*steamcmd.User, error) {
	u, err := user.Lookup(SteamUserName)
	if err != nil {
		return nil, fmt.Errorf("steamcmd runs as the user %s, which does not exist (%v): create it with systemd-sysusers (the package and make install do)", SteamUserName, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, fmt.Errorf("user %s has uid %s, gid %s: it must be an unprivileged user of its own", SteamUserName, u.Uid, u.Gid)
	}
	return &steamcmd.User{UID: uid, GID: gid}, nil
}
