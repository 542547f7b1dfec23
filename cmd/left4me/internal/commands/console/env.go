// Package console is left4me's send and console: typing into a running
// server's console through its relay's socket, as an operator or for
// the announcements of a polite restart.
package console

import "github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"

// Env is what the console commands use.
type Env struct {
	*clienv.Env
	// ConsoleDir holds NAME/console.sock of running servers; "" is
	// DefaultConsoleDir.
	ConsoleDir string
}
