package dayops

import (
	"errors"
	"fmt"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// Retention is what name keeps of its backups: its spec's backups: within
// the host's ceilings, or the defaults when the spec cannot be read (a
// backup of a server whose spec broke is still worth taking).
func (e *Env) Retention(name string) (int, time.Duration) {
	s, err := e.Load(name)
	if err != nil {
		why := "spec unusable"
		if errors.Is(err, fail.ErrUnknownInstance) {
			why = "no spec"
		}
		fmt.Fprintf(e.Stderr, "%s: %s, keeping backups by the defaults (%d, %v)\n", name, why, backup.DefaultKeep, backup.DefaultMaxAge)
		return backup.DefaultKeep, backup.DefaultMaxAge
	}
	return s.Backups.Retention()
}
