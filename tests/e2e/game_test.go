package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The first version, made by hand as an operator might have: no marker.
const gameV1 = "100-20251101T000000Z"

func gameManifest(build string) string {
	return "\"AppState\"\n{\n\t\"appid\"\t\t\"222860\"\n\t\"StateFlags\"\t\t\"4\"\n\t\"buildid\"\t\t\"" + build + "\"\n}\n"
}

// depot sets what the stand-in steamcmd serves: build and files.
func depot(t *testing.T, c *Container, build, who string, extra map[string]string) {
	t.Helper()
	dir := filepath.Join(c.Root, "opt/steamcmd/depot")
	if err := os.RemoveAll(filepath.Join(dir, "files")); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"build":                           build,
		"files/left4dead2/who.txt":        who,
		"files/left4dead2/keep.txt":       "same in every build",
		"files/left4dead2/cfg/build.cfg":  `hostname "build ` + build + `"` + "\n",
		"files/left4dead2/cfg/server.cfg": "// shipped by the game, replaced by each instance's own\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	if err := writeFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	installStandin(t, filepath.Join(dir, "files"))
	// steamcmd runs as its own user (sysusers: left4me-steam); the
	// stand-in logs to, and uses up control files of, its depot.
	c.MustRun(t, "chown", "-R", "left4me-steam:left4me-steam", "/opt/steamcmd/depot")
}

// steamcmd never runs as root: an update and a game status run it as
// left4me-steam; the versions it makes are root's; its HOME (also what
// root left there from before) is its user's; a link its user plants in
// that HOME is never followed by root.
func TestGameUpdateAsItsOwnUser(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	c := bootStoreHost(t, state, nil)
	home := "/var/lib/left4me/steamcmd"
	c.MustRun(t, "sh", "-c", "mkdir -p "+home+"/.local/share/Steam/config && echo cached > "+home+"/.local/share/Steam/config/config.vdf")
	depot(t, c, "200", "v200", nil)
	out := c.MustRun(t, l4m("game", "update")...)
	uid := strings.TrimSpace(c.MustRun(t, "id", "-u", "left4me-steam"))
	log := readText(t, filepath.Join(c.Root, "opt/steamcmd/depot/log"))
	if !strings.Contains(log, "uid "+uid+" ") || strings.Contains(log, "uid 0 ") {
		t.Errorf("steamcmd did not run as left4me-steam (uid %s):\n%s", uid, log)
	}
	if !strings.HasPrefix(currentLink(t, state), "installations/200-") {
		t.Errorf("not updated to build 200 (installation -> %s):\n%s", currentLink(t, state), out)
	}
	if got := c.MustRun(t, "find", "/var/lib/left4me/installations/", "(", "!", "-uid", "0", "-o", "!", "-gid", "0", ")"); strings.TrimSpace(got) != "" {
		t.Errorf("not root's in the versions:\n%s", got)
	}
	if got := c.MustRun(t, "find", home, "!", "-user", "left4me-steam"); strings.TrimSpace(got) != "" {
		t.Errorf("not left4me-steam's in steamcmd's home:\n%s", got)
	}
	if got := c.MustRun(t, "stat", "-c", "%U %a", "/var/lib/left4me/.steam/sdk32/steamclient.so"); strings.TrimSpace(got) != "root 644" {
		t.Errorf("the servers' steamclient.so: %q", got)
	}
	// game status asks Steam as the user too.
	if err := os.Truncate(filepath.Join(c.Root, "opt/steamcmd/depot/log"), 0); err != nil {
		t.Fatal(err)
	}
	c.MustRun(t, l4m("game", "status", "--latest-max-age", "0")...)
	if log := readText(t, filepath.Join(c.Root, "opt/steamcmd/depot/log")); !strings.Contains(log, "uid "+uid+" ") || strings.Contains(log, "uid 0 ") {
		t.Errorf("game status ran steamcmd not as left4me-steam:\n%s", log)
	}
	// A link planted where steamclient.so is found: root follows it no
	// further (to a file steamcmd can read, so that it runs on; a file
	// of root's alone would be the harm).
	lib := home + "/.local/share/Steam/steamcmd/linux32/steamclient.so"
	c.MustRun(t, "sh", "-c", "echo root-only > /var/tmp/not-steamclient && ln -sfn /var/tmp/not-steamclient "+lib)
	depot(t, c, "201", "v201", nil)
	out, _ = c.Run(t, append([]string{"sh", "-c", `exec "$@" 2>&1`, "sh"}, l4m("game", "update")...)...)
	if !strings.Contains(out, lib+": is (or passes through) a symbolic link; refusing to follow it") {
		t.Errorf("the planted link was not refused:\n%s", out)
	}
	if got := c.MustRun(t, "cat", "/var/lib/left4me/.steam/sdk32/steamclient.so"); strings.Contains(got, "root-only") {
		t.Error("root copied the file a planted link named for every server")
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func currentLink(t *testing.T, state string) string {
	t.Helper()
	target, err := os.Readlink(filepath.Join(state, "installation"))
	if err != nil {
		t.Fatal(err)
	}
	return target
}
