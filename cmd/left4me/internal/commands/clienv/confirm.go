package clienv

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// Confirm asks before a destructive step. Without a terminal nobody can
// answer, so it refuses unless --yes was given.
func (e *Env) Confirm(yes bool, what string) error {
	if yes {
		return nil
	}
	if !e.Terminal {
		return fmt.Errorf("%w: %s\nstdin is not a terminal, so nobody can confirm; pass --yes to do it anyway", fail.ErrNotConfirmed, what)
	}
	fmt.Fprintf(e.Stderr, "%s\nProceed? [y/N] ", what)
	line, _ := bufio.NewReader(e.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return fmt.Errorf("%w: nothing was changed", fail.ErrNotConfirmed)
}
