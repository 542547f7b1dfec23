package ovbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildExposure is the most `systemd-analyze security` may score the build
// unit (the README quotes it beside the server unit's).
const buildExposure = 1.4

// The transient build unit's sandbox, scored by systemd itself: the
// properties Args passes to systemd-run, written as a unit file.
func TestBuildUnitExposure(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is missing")
		}
		t.Skip("systemd-analyze not installed")
	}
	s := Store{Root: "/var/lib/left4me", ConfigDir: "/etc/left4me"}
	j := Job{Def: &Definition{Name: "mods", Builder: "/etc/left4me/overlays/mods.sh", Timeout: 30 * time.Minute, Memory: "2G", Tasks: 512}, ID: "20260101T000000Z"}
	a := s.Args(j)
	var b strings.Builder
	b.WriteString("[Service]\n")
	for i := 0; i+1 < len(a); i++ {
		if a[i] == "-p" {
			b.WriteString(a[i+1] + "\n")
			i++
		}
	}
	b.WriteString("ExecStart=" + strings.Join(a[len(a)-3:], " ") + "\n")
	unit := filepath.Join(t.TempDir(), "left4me-build-mods-x.service")
	if err := os.WriteFile(unit, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no score:\n%s\nunit:\n%s", out, b.String())
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("build unit exposure %.1f", score)
	if score > buildExposure {
		t.Errorf("exposure %.1f, above %.1f:\n%s", score, buildExposure, out)
	}
}
