// Command left4me-prestart is l4d2@.service's ExecStartPre=+ helper: it
// stages the instance's cfg files and mounts its overlayfs, following the
// start plan the generator wrote at the last daemon-reload.
// Usage: left4me-prestart NAME
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

func main() {
	const prog = "left4me-prestart"
	if len(os.Args) != 2 {
		fail(prog, errors.New("usage: left4me-prestart NAME"))
	}
	name := os.Args[1]
	// Leave the (possibly unmounted) merged dir systemd started us in.
	_ = unix.Chdir("/")
	c, err := prestart.ConfigFromEnv(os.Stdout)
	if err != nil {
		fail(prog, err)
	}
	p, err := readPlan(c.Layout, name)
	if err != nil {
		fail(prog, err)
	}
	err = prestart.InHostMountNS(func() error { return prestart.Start(c, name, p) })
	if err != nil {
		fail(prog, err)
	}
}

// readPlan loads the plan from the directory l4d2@.service names (the
// generator's output directory), or systemd's default one.
func readPlan(l layout.Layout, name string) (startplan.Plan, error) {
	if err := layout.ValidateName(name); err != nil {
		return startplan.Plan{}, err
	}
	dir := os.Getenv(startplan.DirEnv)
	if dir == "" {
		dir = startplan.DefaultDir // run by hand
	}
	p, err := startplan.Read(startplan.Path(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return p, fmt.Errorf("%w for %s: %s did not exist at the last daemon-reload; create it (`left4me create`) or run `systemctl daemon-reload` if it is new", prestart.ErrNoPlan, name, l.SpecPath(name))
	}
	return p, err
}

// fail prints err for the journal or a terminal and exits 1.
func fail(prog string, err error) {
	prestart.PrintError(os.Stderr, prog, err)
	os.Exit(1)
}
