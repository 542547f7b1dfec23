// Package game is left4me game: install, update, status and gc of the
// shared game installation.
package game

import "github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"

// Env is what the game commands use.
type Env struct{ *dayops.Env }
