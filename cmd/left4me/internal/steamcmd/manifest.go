package steamcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/vdf"
)

// ManifestPath is the app manifest relative to an installation.
const ManifestPath = "steamapps/appmanifest_222860.acf"

// StateFullyInstalled is AppState.StateFlags of a complete, current app.
const StateFullyInstalled = 4

// Manifest is what left4me uses of an app manifest.
type Manifest struct {
	AppID       int
	BuildID     string // digits
	StateFlags  int
	LastUpdated time.Time
}

// maxManifest bounds the file read (a real one is about 1 KiB).
const maxManifest = 1 << 20

// ReadManifest reads steamapps/appmanifest_222860.acf below dir.
func ReadManifest(dir string) (Manifest, error) {
	path := filepath.Join(dir, ManifestPath)
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("app manifest: %w", err)
	}
	defer f.Close()
	buf := make([]byte, maxManifest+1)
	n, err := f.Read(buf)
	if err != nil && n == 0 {
		return Manifest{}, fmt.Errorf("app manifest %s: %w", path, err)
	}
	if n > maxManifest {
		return Manifest{}, fmt.Errorf("app manifest %s: larger than %d bytes", path, maxManifest)
	}
	m, err := ParseManifest(string(buf[:n]))
	if err != nil {
		return Manifest{}, fmt.Errorf("app manifest %s: %w", path, err)
	}
	return m, nil
}

// ParseManifest parses the text of an app manifest.
func ParseManifest(text string) (Manifest, error) {
	root, err := vdf.Parse(text)
	if err != nil {
		return Manifest{}, err
	}
	st := root.Child("AppState")
	if st == nil {
		return Manifest{}, errors.New("no AppState block")
	}
	var m Manifest
	get := func(key string) (string, error) {
		v, ok := st.Lookup(key)
		if !ok {
			return "", fmt.Errorf("AppState has no %s", key)
		}
		return v, nil
	}
	v, err := get("appid")
	if err == nil {
		m.AppID, err = strconv.Atoi(v)
	}
	if err != nil {
		return Manifest{}, err
	}
	if m.BuildID, err = get("buildid"); err != nil {
		return Manifest{}, err
	}
	if !ValidBuildID(m.BuildID) {
		return Manifest{}, fmt.Errorf("buildid %q is not a number", m.BuildID)
	}
	if v, err = get("StateFlags"); err == nil {
		m.StateFlags, err = strconv.Atoi(v)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("StateFlags: %w", err)
	}
	if v, ok := st.Lookup("LastUpdated"); ok {
		if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
			m.LastUpdated = time.Unix(sec, 0).UTC()
		}
	}
	return m, nil
}

// Check says what is wrong with a manifest of a finished install.
func (m Manifest) Check() error {
	switch {
	case m.AppID != AppID:
		return fmt.Errorf("app manifest is for app %d, not %d", m.AppID, AppID)
	case m.StateFlags != StateFullyInstalled:
		return fmt.Errorf("app manifest says StateFlags %d, not %d (fully installed): the download did not complete", m.StateFlags, StateFullyInstalled)
	}
	return nil
}

// ValidBuildID reports whether s is a build id: 1 to 20 digits.
func ValidBuildID(s string) bool {
	return s != "" && len(s) <= 20 && strings.Trim(s, "0123456789") == ""
}

// AppInfoCache is the name of steamcmd's app info cache, appcache/
// appinfo.vdf below its Steam root. It answers app_info_print from that
// cache even after app_info_update, so a build reported from it can be
// long stale: tools that track updates delete it before asking, and so
// does LatestBuild. Where the root is depends on how steamcmd was
// installed: Valve's tarball uses HOME/Steam, Debian's /usr/games/steamcmd
// makes ${XDG_DATA_HOME:-$HOME/.local/share}/Steam the root "to avoid that
// steamcmd uses /home/$user/Steam" (steam-installer's steamcmd wrapper, as
// quoted in issue #24). So, as LinuxGSM does (core_steamcmd.sh: every
// appinfo.vdf below steamcmd's HOME), every one below HOME goes; Run keeps
// XDG_DATA_HOME out of steamcmd's environment, so the root is below HOME.
const AppInfoCache = "appinfo.vdf"

// DropAppInfoCaches removes every regular file named AppInfoCache below
// home, following no link (WalkDir does not), and returns their paths.
func DropAppInfoCaches(home string) ([]string, error) {
	var gone []string
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Name() != AppInfoCache || !d.Type().IsRegular() {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		gone = append(gone, p)
		return nil
	})
	if err != nil {
		return gone, fmt.Errorf("drop steamcmd's app info cache below %s: %w", home, err)
	}
	return gone, nil
}

// LatestBuild asks steamcmd for the current public build id of the app
// (anonymously: app_info needs no account), without its app info cache.
func LatestBuild(ctx context.Context, c Config) (string, error) {
	if _, err := DropAppInfoCaches(c.Home); err != nil {
		return "", err
	}
	var out strings.Builder
	_, err := Run(ctx, c, InfoScript(), "", func(l string) { out.WriteString(l + "\n") })
	if err != nil {
		return "", err
	}
	return ParseAppInfo(out.String())
}

// ParseAppInfo finds depots.branches.public.buildid in app_info_print
// output, which mixes log lines with the "222860" { ... } block.
func ParseAppInfo(out string) (string, error) {
	key := `"` + strconv.Itoa(AppID) + `"`
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != key {
			continue
		}
		block, ok := balanced(lines[i:])
		if !ok {
			break
		}
		root, err := vdf.Parse(block)
		if err != nil {
			return "", fmt.Errorf("app_info_print: %w", err)
		}
		b, ok := root.Lookup(strconv.Itoa(AppID), "depots", "branches", "public", "buildid")
		if !ok || !ValidBuildID(b) {
			return "", errors.New("app_info_print: no build id of the public branch")
		}
		return b, nil
	}
	return "", errors.New("app_info_print: no app info in the output of steamcmd (not logged in? no network?)")
}

// balanced returns the lines from the key to its block's closing brace.
func balanced(lines []string) (string, bool) {
	depth, opened := 0, false
	for i, l := range lines {
		depth += strings.Count(l, "{") - strings.Count(l, "}")
		if strings.Contains(l, "{") {
			opened = true
		}
		if opened && depth <= 0 {
			return strings.Join(lines[:i+1], "\n"), true
		}
	}
	return "", false
}
