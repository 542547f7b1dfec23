package gamehost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMissing32(t *testing.T) {
	cases := []struct {
		name    string
		files   []string
		missing []string
	}{
		{"none", nil, []string{"libc6-i386", "lib32gcc-s1", "lib32stdc++6", "lib32z1"}},
		{"multilib", []string{"lib/ld-linux.so.2", "usr/lib32/libgcc_s.so.1", "usr/lib32/libstdc++.so.6", "usr/lib32/libz.so.1"}, nil},
		{"multiarch", []string{"usr/lib/i386-linux-gnu/ld-linux.so.2", "lib/i386-linux-gnu/libgcc_s.so.1", "lib/i386-linux-gnu/libz.so.1"}, []string{"lib32stdc++6"}},
	}
	for _, c := range cases {
		root := t.TempDir()
		for _, f := range c.files {
			touch(t, filepath.Join(root, f), "")
		}
		var got []string
		for _, l := range Missing32(root, Libs32()) {
			got = append(got, l.Package)
		}
		if strings.Join(got, " ") != strings.Join(c.missing, " ") {
			t.Errorf("%s: missing %v, want %v", c.name, got, c.missing)
		}
	}
	h := Hint(Missing32(t.TempDir(), Libs32()))
	if !strings.Contains(h, "apt-get install libc6-i386 lib32gcc-s1 lib32stdc++6 lib32z1") {
		t.Errorf("hint %q", h)
	}
	if Hint(nil) != "" {
		t.Error("hint without anything missing")
	}
}

func TestInstallSteamclient(t *testing.T) {
	steamHome, home := t.TempDir(), t.TempDir()
	cands := SteamclientCandidates(steamHome, "/nonexistent")
	if _, _, err := InstallSteamclient(cands, home); err == nil || !strings.Contains(err.Error(), "steamclient.so not found") {
		t.Fatalf("%v", err)
	}
	touch(t, cands[0], "lib v1")
	src, changed, err := InstallSteamclient(cands, home)
	if err != nil || !changed || src != cands[0] {
		t.Fatalf("%s %v %v", src, changed, err)
	}
	st, err := os.Stat(SDK32(home))
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("%v %v", st, err)
	}
	if _, changed, _ := InstallSteamclient(cands, home); changed {
		t.Error("rewrote an identical copy")
	}
	touch(t, cands[0], "lib v2")
	if _, changed, err := InstallSteamclient(cands, home); !changed || err != nil {
		t.Errorf("update: %v %v", changed, err)
	}
	if b, _ := os.ReadFile(SDK32(home)); string(b) != "lib v2" {
		t.Errorf("%q", b)
	}
	for _, h := range []string{"/", "", "/nonexistent"} {
		if _, _, err := InstallSteamclient(cands, h); err == nil || !strings.Contains(err.Error(), "usermod -d") {
			t.Errorf("home %q: %v", h, err)
		}
	}
	// A link planted at .steam is refused, not written through.
	evil := t.TempDir()
	os.Symlink(t.TempDir(), filepath.Join(evil, ".steam"))
	if _, _, err := InstallSteamclient(cands, evil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("%v", err)
	}
}

// What `game status` checks and what the package recommends are the same
// packages.
func TestLibsMatchRecommends(t *testing.T) {
	b, err := os.ReadFile("../../../../packaging/deb/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	line := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "Recommends: ") {
			line = l[strings.Index(l, "Recommends: ")+len("Recommends: "):]
		}
	}
	recommended := map[string]bool{}
	for _, alt := range strings.Split(strings.Split(line, `"`)[0], ",") {
		recommended[strings.TrimSpace(strings.Split(alt, "|")[0])] = true
	}
	checked := map[string]bool{}
	for _, l := range Libs32() {
		checked[l.Package] = true
	}
	if len(checked) != len(recommended) {
		t.Fatalf("game status checks %v, the package recommends %v", checked, recommended)
	}
	for p := range checked {
		if !recommended[p] {
			t.Errorf("%s is checked but not recommended (%v)", p, recommended)
		}
	}
}
