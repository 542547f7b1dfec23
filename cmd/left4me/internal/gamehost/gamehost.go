// Package gamehost checks and fixes what the host must provide besides the
// game files: the 32-bit libraries srcds and steamcmd load, and the
// steamclient.so that srcds looks for in ~/.steam/sdk32/ of its user.
package gamehost

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/left4me/left4me/prestart/fsat"
)

// Lib is a 32-bit library srcds_linux and steamcmd need.
type Lib struct {
	Name    string
	Package string   // Debian/Ubuntu package that provides it
	Paths   []string // where the multilib or multiarch package puts it
}

// Libs32 are the 32-bit libraries checked: libc (its loader), libgcc_s,
// libstdc++ and zlib. The package's Recommends names the same packages
// (packaging/deb/build.sh; a test keeps them alike).
func Libs32() []Lib {
	return []Lib{
		{"ld-linux.so.2 (32-bit C library)", "libc6-i386", []string{"lib/ld-linux.so.2", "lib32/ld-linux.so.2", "usr/lib32/ld-linux.so.2", "lib/i386-linux-gnu/ld-linux.so.2", "usr/lib/i386-linux-gnu/ld-linux.so.2"}},
		{"libgcc_s.so.1 (32-bit)", "lib32gcc-s1", []string{"lib32/libgcc_s.so.1", "usr/lib32/libgcc_s.so.1", "lib/i386-linux-gnu/libgcc_s.so.1", "usr/lib/i386-linux-gnu/libgcc_s.so.1"}},
		{"libstdc++.so.6 (32-bit)", "lib32stdc++6", []string{"lib32/libstdc++.so.6", "usr/lib32/libstdc++.so.6", "usr/lib/i386-linux-gnu/libstdc++.so.6", "lib/i386-linux-gnu/libstdc++.so.6"}},
		{"libz.so.1 (32-bit)", "lib32z1", []string{"lib32/libz.so.1", "usr/lib32/libz.so.1", "lib/i386-linux-gnu/libz.so.1", "usr/lib/i386-linux-gnu/libz.so.1"}},
	}
}

// Missing32 returns the libraries of libs found nowhere below root ("/"
// on a host).
func Missing32(root string, libs []Lib) []Lib {
	var out []Lib
	for _, l := range libs {
		found := false
		for _, p := range l.Paths {
			if _, err := os.Stat(filepath.Join(root, p)); err == nil {
				found = true
				break
			}
		}
		if !found {
			out = append(out, l)
		}
	}
	return out
}

// Hint says what is missing and which packages to install.
func Hint(missing []Lib) string {
	if len(missing) == 0 {
		return ""
	}
	var names, pkgs []string
	for _, l := range missing {
		names = append(names, l.Name)
		pkgs = append(pkgs, l.Package)
	}
	return fmt.Sprintf("missing 32-bit libraries that srcds and steamcmd load: %s; install them (Debian/Ubuntu): apt-get install %s",
		strings.Join(names, ", "), strings.Join(pkgs, " "))
}

// SteamclientCandidates are where a steamcmd run leaves steamclient.so:
// the Debian package's wrapper unpacks steamcmd into its HOME, a tarball
// install keeps it beside steamcmd.sh.
func SteamclientCandidates(steamHome, steamcmdDir string) []string {
	return []string{
		filepath.Join(steamHome, ".steam/steamcmd/linux32/steamclient.so"),
		filepath.Join(steamHome, ".local/share/Steam/steamcmd/linux32/steamclient.so"),
		filepath.Join(steamHome, "Steam/linux32/steamclient.so"),
		filepath.Join(steamcmdDir, "linux32/steamclient.so"),
	}
}

// SDK32 is the file srcds loads: HOME/.steam/sdk32/steamclient.so.
func SDK32(home string) string { return filepath.Join(home, ".steam", "sdk32", "steamclient.so") }

// maxLib bounds the copy (steamclient.so is about 60 MiB).
const maxLib = 512 << 20

// InstallSteamclient copies the first existing candidate to SDK32(home),
// root-owned and world-readable, replacing an older copy by rename (a
// running server keeps the one it loaded). changed is false when the copy
// there was the same already.
func InstallSteamclient(candidates []string, home string) (src string, changed bool, err error) {
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			src = c
			break
		}
	}
	if src == "" {
		return "", false, fmt.Errorf("steamclient.so not found (looked at %s): the servers may log \"SteamAPI_Init() failed\"", strings.Join(candidates, ", "))
	}
	if st, err := os.Stat(home); home == "" || home == "/" || err != nil || !st.IsDir() {
		return src, false, fmt.Errorf("steamclient.so not installed: the servers' user has no home directory (%q), and srcds looks for $HOME/.steam/sdk32/steamclient.so; give it one (with the servers stopped: usermod -d /var/lib/left4me left4me) and update again", home)
	}
	data, err := readLimited(src)
	if err != nil {
		return src, false, err
	}
	dst := SDK32(home)
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, data) {
		return src, false, nil
	}
	dir := filepath.Dir(dst)
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return src, false, fmt.Errorf("create %s: %w", d, err)
		}
		if st, err := os.Lstat(d); err != nil || !st.IsDir() {
			return src, false, fmt.Errorf("%s is not a directory (a link?); refusing to write through it", d)
		}
	}
	// Durably: a power cut must not leave an empty library no server loads.
	if err := fsat.WriteFile(dst, data, fsat.WriteOptions{Perm: 0o644}); err != nil {
		return src, false, fmt.Errorf("install %s: %w", dst, err)
	}
	return src, true, nil
}

func readLimited(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxLib {
		return nil, fmt.Errorf("%s: %d bytes, more than a steamclient.so has", path, st.Size())
	}
	return os.ReadFile(path)
}
