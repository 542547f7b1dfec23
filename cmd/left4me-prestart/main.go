// Command left4me-prestart is l4d2@.service's ExecStartPre=+ helper: it
// stages the instance's cfg files and mounts its overlayfs.
// Usage: left4me-prestart NAME
package main

import (
	"errors"
	"os"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/units"
	"golang.org/x/sys/unix"
)

func main() {
	const prog = "left4me-prestart"
	if len(os.Args) != 2 {
		prestart.Fail(prog, errors.New("usage: left4me-prestart NAME"))
	}
	// Leave the (possibly unmounted) merged dir systemd started us in.
	_ = unix.Chdir("/")
	c, err := prestart.ConfigFromEnv(os.Stdout)
	if err != nil {
		prestart.Fail(prog, err)
	}
	digest, underSystemd := os.LookupEnv(units.DigestEnv)
	if underSystemd && digest == "" {
		digest = "-" // the template without a drop-in: the spec was invalid at the last reload
	}
	err = prestart.InHostMountNS(func() error { return prestart.Start(c, os.Args[1], digest) })
	if err != nil {
		prestart.Fail(prog, err)
	}
}
