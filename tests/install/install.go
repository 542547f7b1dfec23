// Package install puts the project into a container's root the way the
// end-to-end tests and the benchmarks need it: make install into the root,
// then the users a package's postinst creates.
package install

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// Project runs `make install DESTDIR=root PREFIX=/usr` in the source tree
// repo and creates the package's users in root. At boot
// systemd-sysusers.service would not: it runs only after an update of
// /usr (ConditionNeedsUpdate=/etc).
func Project(root, repo string) error {
	cmd := exec.Command("make", "install", "DESTDIR="+root, "PREFIX=/usr")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("make install: %v\n%s", err, out)
	}
	out, err := exec.Command("systemd-sysusers", "--root="+root,
		filepath.Join(root, "usr/lib/sysusers.d/left4me.conf"), filepath.Join(root, "usr/lib/sysusers.d/left4me-build.conf")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemd-sysusers: %v\n%s", err, out)
	}
	return nil
}
