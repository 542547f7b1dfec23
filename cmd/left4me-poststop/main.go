// Command left4me-poststop is l4d2@.service's ExecStopPost=+ helper: it
// unmounts the instance's overlayfs. Idempotent; runs after crashes too.
// Usage: left4me-poststop NAME
package main

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/internal/diag"
	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec/layout"
)

func main() {
	const prog = "left4me-poststop"
	if len(os.Args) != 2 {
		fail(prog, errors.New("usage: left4me-poststop NAME"))
	}
	_ = unix.Chdir("/") // a cwd inside merged would keep it busy
	// Unmounting needs no user: no user lookup, no spec, no YAML.
	c := prestart.Config{Layout: layout.FromEnv(), Log: os.Stdout}
	if err := prestart.InHostMountNS(func() error { return prestart.Stop(c, os.Args[1]) }); err != nil {
		fail(prog, err)
	}
}

// fail prints err for the journal or a terminal and exits 1.
func fail(prog string, err error) {
	diag.PrintError(os.Stderr, prog, err)
	os.Exit(1)
}
