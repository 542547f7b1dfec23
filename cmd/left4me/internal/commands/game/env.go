// Package game is left4me game: install, update, status and gc of the
// shared game installation.
package game

import (
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/gamehost"
)

// Env is what the game commands use.
type Env struct {
	*dayops.Env
	// HostRoot is where the host's 32-bit libraries are looked for; ""
	// is "/".
	HostRoot string
}

// missing32 are the 32-bit libraries srcds and steamcmd load that the
// host lacks.
func (e *Env) missing32() []gamehost.Lib {
	root := e.HostRoot
	if root == "" {
		root = "/"
	}
	return gamehost.Missing32(root, gamehost.Libs32())
}
