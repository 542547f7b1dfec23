package generator

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

// maxExposure is the figure documented in README.md ("Sandbox"); the test
// fails if a change to the template makes the unit more exposed.
const maxExposure = 1.8

var exposureRe = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// TestSecurityExposure scores the generated unit with systemd's own
// analyzer, offline, on the files the generator wrote.
func TestSecurityExposure(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing")
		}
		t.Skip("systemd-analyze not installed")
	}
	c := fixture(t)
	out := t.TempDir()
	if _, err := Run(c, out); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", "l4d2@srv1.service")
	cmd.Dir = out
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+out+":", "SYSTEMD_COLORS=0")
	got, _ := cmd.CombinedOutput() // exits non-zero above its own threshold
	m := exposureRe.FindSubmatch(got)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", got)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (documented maximum %.1f)", score, maxExposure)
	if score > maxExposure {
		t.Fatalf("exposure %.1f is above the documented %.1f:\n%s", score, maxExposure, got)
	}
}
