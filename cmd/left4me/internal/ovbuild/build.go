package ovbuild

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/left4me/left4me/prestart/fsat"
)

// Build runs job j start to end: lock, clean up after an interrupted
// build, prepare the directory, run the builder in its sandbox, check the
// tree and switch it in. Whatever fails before the switch leaves the
// current version untouched and removes the new directory. The result is
// recorded for `overlay status`. old is the ID the previous version got.
func (s Store) Build(ctx context.Context, j Job) (old string, err error) {
	name := j.Def.Name
	release, err := s.Lock()
	if err != nil {
		return "", err
	}
	defer release()
	if err := s.Nesting(name, j.Named); err != nil {
		return "", err
	}
	if done, err := s.CleanStale(name); err != nil {
		return "", err
	} else {
		for _, d := range done {
			fmt.Fprintln(j.Out, "left4me: "+d)
		}
	}
	if j.ID == "" {
		j.ID = s.NewID(name, time.Now())
	}
	r := Result{ID: j.ID, Started: time.Now().UTC(), Unit: UnitName(name, j.ID)}
	defer func() {
		r.Finished, r.OK, r.Outcome = time.Now().UTC(), err == nil, OutcomeOf(err)
		if err != nil {
			r.Message = err.Error()
			if !errors.Is(err, ErrUnitAlive) && !errors.Is(err, ErrSwitched) {
				_ = fsat.RemoveTree(s.BuildDir(name, j.ID), fsat.RemoveOptions{Chmod: true})
			}
		} else {
			r.Message = "switched in; the previous version is " + old
			if old == "" {
				r.Message = "switched in; first version"
			}
		}
		if serr := s.SaveResult(name, r); serr != nil && err == nil {
			err = serr
		}
	}()
	if _, _, err := s.Prepare(name, j.ID); err != nil {
		return "", fmt.Errorf("overlay %s: %w; the current version is unchanged", name, err)
	}
	fmt.Fprintf(j.Out, "left4me: building overlay %s version %s in %s (unit %s, timeout %v)\n", name, j.ID, s.BuildDir(name, j.ID), r.Unit, j.Def.Timeout)
	if err := s.Run(ctx, j); err != nil {
		return "", fmt.Errorf("overlay %s: %w; the current version is unchanged", name, err)
	}
	old, err = s.finish(name, j.ID, j.Out)
	return old, err
}
