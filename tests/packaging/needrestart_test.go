// Package packaging tests what the Debian package ships beside the
// binaries.
package packaging

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNeedrestartOverride evaluates packaging/needrestart.conf as
// needrestart does (eval with %nrconf in scope; the first regex of
// override_rc that matches a unit decides, 0 = not restarted): the
// servers and the units whose restart would redo their work are kept,
// the rest may be restarted.
func TestNeedrestartOverride(t *testing.T) {
	if _, err := exec.LookPath("perl"); err != nil {
		t.Skip("no perl")
	}
	units := map[string]string{
		"l4d2@one.service": "0", "left4me-update.service": "0", "left4me-restart@one.service": "0",
		"left4me-backup@one.service": "0", "left4me-retry@one.service": "0", "left4me-build-comp-1a2b.service": "0",
		"left4me-web.service": "1", "left4me-disk.service": "1", "left4me-metrics@0.service": "1", "ssh.service": "1",
	}
	var names []string
	for u := range units {
		names = append(names, u)
	}
	script := `our %nrconf = (override_rc => {});
my $c = do { local(@ARGV, $/) = "../../packaging/needrestart.conf"; <> };
eval $c; die $@ if $@;
for my $u (@ARGV) { my $r = 1; for my $re (keys %{$nrconf{override_rc}}) { if ($u =~ /$re/) { $r = $nrconf{override_rc}{$re}; last } } print "$u $r\n" }`
	out, err := exec.Command("perl", append([]string{"-e", script}, names...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("perl: %v\n%s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		u, got, _ := strings.Cut(l, " ")
		if got != units[u] {
			t.Errorf("%s: restart %s, want %s", u, got, units[u])
		}
	}
}
