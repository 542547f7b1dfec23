package ovbuild

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The operator's mirror and steamcmd reach the builder (as -E items before
// the command); nothing else of the operator's environment does.
func TestPassEnv(t *testing.T) {
	env := map[string]string{"LEFT4ME_ALLIEDMODS_MIRROR": "http://mirror.example/am", "LEFT4ME_STEAMCMD": "/opt/steamcmd/steamcmd", "SECRET": "x"}
	got := PassEnv(func(k string) string { return env[k] })
	want := []string{"LEFT4ME_ALLIEDMODS_MIRROR=http://mirror.example/am", "LEFT4ME_STEAMCMD=/opt/steamcmd/steamcmd"}
	if !slices.Equal(got, want) {
		t.Fatalf("PassEnv %q, want %q", got, want)
	}
	s := Store{Root: "/var/lib/left4me", ConfigDir: "/etc/left4me"}
	j := Job{Def: &Definition{Name: "mods", Builder: "/etc/left4me/overlays/mods.sh", Timeout: time.Minute, Memory: "2G", Tasks: 512}, ID: "20260101T000000Z", Env: got}
	a := strings.Join(s.Args(j), "\n")
	for _, w := range []string{"-E\n" + want[0] + "\n", "-E\n" + want[1] + "\n", "TemporaryFileSystem=/etc/left4me:ro"} {
		if !strings.Contains(a, w) {
			t.Errorf("args lack %q:\n%s", w, a)
		}
	}
	if !strings.HasSuffix(a, "\n/bin/sh\n-eu\n/var/lib/left4me/overlay-builds/mods/.build-20260101T000000Z/helpers.sh") || strings.Contains(a, "SECRET") {
		t.Errorf("args:\n%s", a)
	}
}
