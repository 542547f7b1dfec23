// Package testroot is the one check of tests that need root (mounts,
// chown, namespaces): outside root they skip, except under CI=true, where a
// skip would hide what was meant to be tested.
package testroot

import (
	"os"
	"testing"
)

// Require skips t unless the test runs as root; why says what needs it.
func Require(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("needs root (%s), and CI=true", why)
	}
	t.Skipf("needs root (%s)", why)
}
