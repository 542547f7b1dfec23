package game

import (
	"context"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/versions"
)

// lockWait bounds how long gc waits for starts and stops in progress.
const lockWait = 2 * time.Minute

// GCResult is what gc removed (or would remove) and what it kept.
type GCResult struct {
	Removed []versions.Version
	Kept    []versions.Kept
	Cleaned []string // leftovers of interrupted updates
}

// GC removes every version that is not current and that no mounted
// instance runs on. While it decides, it holds the store's lock (no update
// switches meanwhile) and every instance's start lock (no start mounts a
// version meanwhile); a victim is renamed away before the locks are given
// back and deleted after.
func GC(ctx context.Context, s versions.Store, dryRun bool) (GCResult, error) {
	var res GCResult
	release, err := s.Lock()
	if err != nil {
		return res, err
	}
	defer release()
	if !dryRun {
		if res.Cleaned, err = s.CleanStale(); err != nil {
			return res, err
		}
	}
	lctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	unlock, err := s.LockInstances(lctx)
	if err != nil {
		return res, err
	}
	vs, _, err := s.List()
	if err == nil {
		var uses []versions.Use
		if uses, err = s.InUse(vs); err == nil {
			var plan versions.Plan
			if plan, err = versions.PlanGC(vs, uses); err == nil {
				res.Kept = plan.Keep
				for _, v := range plan.Remove {
					if !dryRun {
						if err = s.Trash(v); err != nil {
							break
						}
					}
					res.Removed = append(res.Removed, v)
				}
			}
		}
	}
	unlock()
	if err != nil {
		return res, err
	}
	if dryRun {
		return res, nil
	}
	return res, s.EmptyTrash()
}

// Status is the state of the installations.
type Status struct {
	Current  versions.Current
	Versions []versions.Version
	Uses     []versions.Use
}

// ReadStatus lists the versions and which instances run on which.
func ReadStatus(s versions.Store) (Status, error) {
	vs, cur, err := s.List()
	if err != nil {
		return Status{}, err
	}
	uses, err := s.InUse(vs)
	if err != nil {
		return Status{}, err
	}
	return Status{Current: cur, Versions: vs, Uses: uses}, nil
}
