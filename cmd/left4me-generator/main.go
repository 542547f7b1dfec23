// Command left4me-generator is the systemd generator of left4me. systemd
// runs it at boot and at every daemon-reload as
// left4me-generator NORMAL_DIR [EARLY_DIR LATE_DIR].
package main

import (
	"fmt"
	"os"

	"github.com/left4me/left4me/generator"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/units"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: left4me-generator NORMAL_DIR [EARLY_DIR LATE_DIR]")
		os.Exit(2)
	}
	c := units.Config{Layout: layout.FromEnv(), HelperDir: helperDir}
	log := generator.NewLog(os.Stderr, "/dev/kmsg", generator.JournalSocket)
	defer log.Close()
	res, err := generator.Run(c, os.Args[1])
	for _, sk := range res.Skipped {
		if sk.Name == "" {
			log.Errorf("%v", sk.Err)
			continue
		}
		log.Errorf("skipping instance %s (%s not generated):\n%v", sk.Name, units.Instance(sk.Name), sk.Err)
	}
	if err != nil {
		log.Errorf("%v", err)
		os.Exit(1)
	}
}

// helperDir is where the helpers are installed: PREFIX/lib/left4me, set by
// the Makefile at link time (-X main.helperDir=...), so units name the
// helpers wherever the generator itself is run from.
var helperDir = "/usr/lib/left4me"
