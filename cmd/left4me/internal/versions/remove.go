package versions

import "github.com/left4me/left4me/prestart/rundir"

// unmountAll removes every mount stacked on path (a staging overlay left
// by a killed update); busy ones are detached.
func unmountAll(path string) error {
	_, err := rundir.Unmount(path)
	return err
}
