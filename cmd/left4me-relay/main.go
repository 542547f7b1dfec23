// Command left4me-relay is l4d2@.service's ExecStart: it runs the game
// server on a pseudo-terminal and copies its console to the journal line
// by line (see package relay).
// Usage: left4me-relay PROGRAM [ARG...]
package main

import (
	"errors"
	"os"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/relay"
)

func main() {
	if len(os.Args) < 2 {
		prestart.PrintError(os.Stderr, "left4me-relay", errors.New("usage: left4me-relay PROGRAM [ARG...]"))
		os.Exit(2)
	}
	// l4d2@.service names the socket (in its RuntimeDirectory=).
	o := relay.Options{Socket: os.Getenv("LEFT4ME_CONSOLE"), Allowed: relay.InAdminGroup("/etc")}
	code, err := relay.Run(os.Args[1:], os.Stdout, o)
	if err != nil {
		prestart.PrintError(os.Stderr, "left4me-relay", err)
	}
	os.Exit(code)
}
