package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLibrary(t *testing.T) {
	root := t.TempDir()
	installLib(t, root)
	if err := os.Mkdir(filepath.Join(root, "dironly"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory of the library's name is no library.
	if err := os.MkdirAll(filepath.Join(root, "dironly", tier0Lib), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	const missing = "libtier0_srv.so: cannot open shared object file: No such file or directory"
	tests := []struct {
		path, want, wantErr string
	}{
		{".:bin:", "bin/" + tier0Lib, ""},
		{"bin", "bin/" + tier0Lib, ""},
		{"./bin/", "bin/" + tier0Lib, ""},
		{"nothere;bin", "bin/" + tier0Lib, ""},
		{filepath.Join(root, "bin"), filepath.Join(root, "bin", tier0Lib), ""},
		{"", "", missing},
		{".", "", missing},
		{"::", "", missing}, // empty entries are the working directory
		{"dironly", "", missing},
		{"bin/" + tier0Lib, "", missing}, // a file is no directory
	}
	for _, tc := range tests {
		got, err := findLibrary(tier0Lib, tc.path)
		if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
			t.Errorf("findLibrary(%q) = %q, %v; want %q, %q", tc.path, got, err, tc.want, tc.wantErr)
		}
	}
	// An empty entry finds a library in the working directory itself.
	installLib(t, filepath.Join(root, "bin"))
	t.Chdir(filepath.Join(root, "bin"))
	if got, err := findLibrary(tier0Lib, "/nonexistent::"); err != nil || got != tier0Lib {
		t.Errorf("empty entry: %q, %v", got, err)
	}
}

func TestBaseDir(t *testing.T) {
	tests := map[string]string{
		"./srcds_linux":                    ".",
		"/srv/L4D2/srcds_linux":            "/srv/l4d2", // Q_strlower
		"srcds_linux":                      "srcds_linux",
		"/srcds_linux":                     "/",
		"../Game/./srcds_linux":            "../game/.",
		"/var/lib/left4me/x/merged/srcds_": "/var/lib/left4me/x/merged",
	}
	for in, want := range tests {
		if got := baseDir(in); got != want {
			t.Errorf("baseDir(%q) = %q, want %q", in, got, want)
		}
	}
}

// Without the library where LD_LIBRARY_PATH points, the engine fails like
// the real launcher, before it prints or writes anything else.
func TestStandinWithoutLibrary(t *testing.T) {
	for _, env := range [][]string{{"LD_LIBRARY_PATH="}, {"LD_LIBRARY_PATH=/nonexistent:lib"}} {
		dir := writeCfgs(t, map[string]string{"server.cfg": "hostname x"})
		s := startStandin(t, dir, env, "-game", "left4dead2", "-port", "27015")
		if code := s.wait(t); code != loaderExit {
			t.Errorf("%v: exit status %d, want %d", env, code, loaderExit)
		}
		want := "Failed to open dedicated_srv.so (libtier0_srv.so: cannot open shared object file: No such file or directory)"
		if len(s.seen) != 2 || !strings.HasPrefix(s.seen[0], "standin: argv: ") || s.seen[1] != want {
			t.Errorf("%v: output %q", env, s.seen)
		}
		if _, err := os.Stat(filepath.Join(dir, "left4dead2", "standin-report.json")); err == nil {
			t.Errorf("%v: report written", env)
		}
	}
}
