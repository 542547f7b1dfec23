package backup

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Prune removes the backups in dir beyond the newest keep, and those older
// than maxAge (0: no age limit), always keeping the newest one. It returns
// what it removed.
func Prune(dir string, keep int, maxAge time.Duration, now time.Time) ([]Info, error) {
	release, err := lock(dir)
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer release()
	all, err := ListWhy(dir)
	if err != nil {
		return nil, err
	}
	keep = max(keep, 1)
	// Of the backups restores took, only the newest stays (to undo the
	// last restore): trial restores would push the real ones out of
	// keep. The rest count as any backup.
	lastRestore := ""
	for _, b := range all {
		if b.Why == BeforeRestore {
			lastRestore = b.ID
		}
	}
	var kept []Info
	var gone []Info
	var errs []error
	for _, b := range all {
		if b.Why == BeforeRestore && b.ID != lastRestore {
			if err := os.Remove(b.Path); err != nil {
				errs = append(errs, err)
				continue
			}
			gone = append(gone, b)
			continue
		}
		kept = append(kept, b)
	}
	for i, b := range kept {
		newest := i == len(kept)-1
		tooMany := len(kept)-i > keep
		tooOld := maxAge > 0 && now.Sub(b.Time) > maxAge
		if newest || !tooMany && !tooOld {
			continue
		}
		if err := os.Remove(b.Path); err != nil {
			errs = append(errs, err)
			continue
		}
		gone = append(gone, b)
	}
	if len(gone) > 0 {
		errs = append(errs, syncDir(dir))
	}
	return gone, errors.Join(errs...)
}
