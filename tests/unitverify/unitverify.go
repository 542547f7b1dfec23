// Package unitverify runs `systemd-analyze verify` on unit files for tests:
// systemd parses them exactly as it will on a host and reports unknown
// keys, bad values and missing executables on stderr.
package unitverify

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Need skips t where systemd-analyze is not installed, and fails it in CI,
// where a skip would hide that the units went unchecked.
func Need(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing")
		}
		t.Skip("systemd-analyze not installed")
	}
}

// Executables writes a stand-in shell script at each path (directories
// made as needed): verify refuses a unit whose Exec*= program is missing.
func Executables(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// Check runs systemd-analyze verify on the unit files and fails t when it
// fails or when a line of what it says contains one of ours (names of the
// units under test): lines about units we do not ship (the host's own)
// are not ours to judge.
func Check(t testing.TB, ours []string, files ...string) {
	t.Helper()
	Need(t)
	cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, files...)...)
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil || len(About(stderr.String(), ours)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, stderr.String())
	}
}

// About returns the lines of out that contain one of ours.
func About(out string, ours []string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		for _, o := range ours {
			if strings.Contains(l, o) {
				lines = append(lines, l)
				break
			}
		}
	}
	return lines
}
