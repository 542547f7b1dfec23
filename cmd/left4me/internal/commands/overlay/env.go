// Package overlay is left4me overlay: building, listing and collecting
// the overlays instances stack on the game.
package overlay

import "github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"

// Env is what the overlay commands use.
type Env struct{ *dayops.Env }
