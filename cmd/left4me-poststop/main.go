// Command left4me-poststop is l4d2@.service's ExecStopPost=+ helper: it
// unmounts the instance's overlayfs. Idempotent; runs after crashes too.
// Usage: left4me-poststop NAME
package main

import (
	"errors"
	"os"

	"github.com/left4me/left4me/prestart"
	"golang.org/x/sys/unix"
)

func main() {
	const prog = "left4me-poststop"
	if len(os.Args) != 2 {
		prestart.Fail(prog, errors.New("usage: left4me-poststop NAME"))
	}
	_ = unix.Chdir("/") // a cwd inside merged would keep it busy
	c, err := prestart.ConfigFromEnv(os.Stdout)
	if err != nil {
		prestart.Fail(prog, err)
	}
	if err := prestart.InHostMountNS(func() error { return prestart.Stop(c, os.Args[1]) }); err != nil {
		prestart.Fail(prog, err)
	}
}
