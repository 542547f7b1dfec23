// Command density measures what N servers on one host cost in memory and
// disk: N stand-in servers on the shared installation through left4me's
// overlays, against N servers each on its own full copy of the game (what
// a panel that copies the game per server does). The installation has the
// real one's shape where memory is concerned: shared objects the engine
// maps at start and a large VPK it reads (see tests/standin/gamefiles.go).
//
// Everything lives on an XFS filesystem in a loop-mounted image file on
// disk (-image-dir): page cache is only meaningful for a disk-backed
// filesystem (a tmpfs file is memory whether read or not), and XFS makes
// each copy a reflink copy, so twenty copies need no 10 GiB of disk and no
// minutes of writing while each copy still has page cache of its own (a
// reflink shares blocks on disk, not pages in memory: each inode has its
// own address_space). The loop device uses direct I/O, so the image file
// is not cached a second time on the host filesystem.
//
// Usage (as root, from tests/bench/run.sh): density -bin DIR [flags]
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "build", "directory with left4me-generator, left4me-prestart, left4me-poststop, srcds_run and srcds_linux")
	flag.StringVar(&o.imageDir, "image-dir", "/var/tmp", "directory on a disk for the XFS image (sparse; removed at the end)")
	flag.IntVar(&o.libMB, "lib-mb", 256, "MiB of shared objects the engine maps (16 files)")
	flag.IntVar(&o.vpkMB, "vpk-mb", 256, "MiB of VPK archive the engine reads")
	flag.IntVar(&o.rounds, "rounds", 3, "measurements of each count (medians are reported)")
	ns := flag.String("n", "1,5,10,20", "server counts")
	flag.Parse()
	for f := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			fail(fmt.Errorf("-n: bad count %q", f))
		}
		o.counts = append(o.counts, n)
	}
	if o.counts[0] != 1 {
		fail(fmt.Errorf("-n must start with 1: extra instances are counted from one"))
	}
	if err := run(o); err != nil {
		fail(err)
	}
}

type options struct {
	bin, imageDir string
	libMB, vpkMB  int
	rounds        int
	counts        []int
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "density:", err)
	os.Exit(1)
}
