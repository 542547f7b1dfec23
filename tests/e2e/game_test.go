package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The first version, made by hand as an operator might have: no marker.
const gameV1 = "100-20251101T000000Z"

func gameManifest(build string) string {
	return "\"AppState\"\n{\n\t\"appid\"\t\t\"222860\"\n\t\"StateFlags\"\t\t\"4\"\n\t\"buildid\"\t\t\"" + build + "\"\n}\n"
}

// gameSpecs: game1 reads the build it runs from the installation's
// left4dead2/cfg/build.cfg (its A2S name); busy always has players.
var gameSpecs = map[string]string{
	"etc/left4me/instances/game1.yaml": "port: 27040\nautostart: true\nconfig: ['exec build']\n",
	"etc/left4me/instances/busy.yaml":  "port: 27041\nautostart: true\noverlays: [busy]\n",
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
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
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

func storeEntries(t *testing.T, state string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(state, "installations"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestGameUpdate updates the installation under a running server: the
// running server keeps its files, a restarted one gets the new build, a
// failed update changes nothing, gc removes the old version only once no
// server runs on it, and the systemd service does the same with an
// account whose password never shows.
func TestGameUpdate(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	if err := buildOnce(); err != nil {
		t.Fatal(err)
	}
	v1 := filepath.Join(state, "installations", gameV1)
	if err := writeFiles(v1, map[string]string{
		"left4dead2/who.txt":               "v1",
		"left4dead2/keep.txt":              "same in every build",
		"left4dead2/cfg/build.cfg":         "hostname \"build 100\"\n",
		"steamapps/appmanifest_222860.acf": gameManifest("100"),
	}); err != nil {
		t.Fatal(err)
	}
	installStandin(t, v1)
	err := os.Symlink("installations/"+gameV1, filepath.Join(state, "installation"))
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFiles(state, map[string]string{"overlays/busy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=2\n"}); err != nil {
		t.Fatal(err)
	}
	c := Boot(t, Options{State: state, Install: installProject(t), Setup: func(root string) error {
		steam, err := os.ReadFile(filepath.Join(repoRoot(t), "build", "steamcmd"))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(root, "opt/steamcmd"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, "opt/steamcmd/steamcmd"), steam, 0o755); err != nil {
			return err
		}
		return writeFiles(root, gameSpecs)
	}})
	const steamcmd = "/opt/steamcmd/steamcmd"
	l4m := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		// stderr too: the notes are part of what an operator sees.
		return c.Run(t, append([]string{"sh", "-c", `LEFT4ME_STEAMCMD=` + steamcmd + ` exec left4me "$@" 2>&1`, "left4me"}, args...)...)
	}
	merged := func(t *testing.T, name, rel string) string {
		t.Helper()
		return c.MustRun(t, "cat", "/var/lib/left4me/runtime/"+name+"/merged/"+rel)
	}
	waitActive(t, c, "game1")
	waitActive(t, c, "busy")
	if n := query(t, c, 27040).Name; n != "build 100" {
		t.Fatalf("game1 runs %q", n)
	}
	home := strings.Split(strings.TrimSpace(c.MustRun(t, "getent", "passwd", "left4me")), ":")[5]
	_, err = c.Run(t, "test", "-d", home)
	homeless := err != nil
	oldWho := filepath.Join(v1, "left4dead2/who.txt")
	oldIno := inode(t, oldWho)
	var v2 string

	t.Run("an account without the game stops at once", func(t *testing.T) {
		depot(t, c, "200", "v2", map[string]string{"errors": "nosub"})
		out, err := l4m(t, "game", "update")
		if err == nil || !strings.Contains(out, "the Steam account has no license for app 222860 (No subscription)") ||
			strings.Contains(out, "retry") || !strings.Contains(out, "nothing was changed: installation -> installations/"+gameV1) {
			t.Fatalf("update of an account without the game: %v\n%s", err, out)
		}
		os.Remove(filepath.Join(c.Root, "opt/steamcmd/depot/errors"))
		os.Remove(filepath.Join(c.Root, "opt/steamcmd/depot/errors.used"))
	})

	t.Run("a failure halfway changes nothing", func(t *testing.T) {
		// The disk fills halfway: steamcmd's 0x202, no retry.
		depot(t, c, "200", "v2", map[string]string{"fail": "1 0x202"})
		out, err := l4m(t, "game", "update")
		if err == nil || !strings.Contains(out, "state is 0x202") || !strings.Contains(out, "not enough disk space for the download (steamcmd state 0x202)") ||
			strings.Contains(out, "retry") || !strings.Contains(out, "nothing was changed: installation -> installations/"+gameV1) {
			t.Fatalf("update with a failing steamcmd: %v\n%s", err, out)
		}
		if !strings.Contains(out, "steamcmd: Connecting anonymously to Steam Public...OK") {
			t.Errorf("steamcmd's output not shown:\n%s", out)
		}
		if got := currentLink(t, state); got != "installations/"+gameV1 {
			t.Errorf("installation -> %s", got)
		}
		if got := storeEntries(t, state); len(got) != 1 || got[0] != gameV1 {
			t.Errorf("installations/ holds %v", got)
		}
		if readText(t, oldWho) != "v1" || inode(t, oldWho) != oldIno {
			t.Error("the current version was written to")
		}
		if mi := c.MustRun(t, "cat", "/proc/self/mountinfo"); strings.Contains(mi, ".staging-") {
			t.Errorf("a staging mount is left:\n%s", mi)
		}
	})

	t.Run("update while the server runs", func(t *testing.T) {
		os.Remove(filepath.Join(c.Root, "opt/steamcmd/depot/fail"))
		// Twice the download stops short first: retried in the same
		// staging directory, then it completes.
		if err := writeFiles(filepath.Join(c.Root, "opt/steamcmd/depot"), map[string]string{"errors": "0x402 0x6A6"}); err != nil {
			t.Fatal(err)
		}
		out, err := l4m(t, "game", "update")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		target := currentLink(t, state)
		v2 = strings.TrimPrefix(target, "installations/")
		if !strings.HasPrefix(v2, "200-") {
			t.Fatalf("installation -> %s\n%s", target, out)
		}
		// Linux first on an existing installation: no windows pass.
		if strings.Contains(out, "windows platform first") {
			t.Errorf("an update of a Linux installation ran the windows pass:\n%s", out)
		}
		for _, w := range []string{"which stays untouched (anonymous)...", "steamcmd: Success! App '222860' fully installed.",
			"steamcmd stopped before the download completed (state 0x402): retry 1 of 5 in 2s",
			"steamcmd stopped before the download completed (state 0x6a6): retry 2 of 5 in 4s",
			"updated to build 200: installation -> installations/" + v2,
			"running on an older version until they restart: busy, game1"} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		// The stand-in rewrote who.txt in place: through the staging
		// overlay, so the old version's inode is untouched.
		if readText(t, oldWho) != "v1" || inode(t, oldWho) != oldIno {
			t.Error("the old version's file changed")
		}
		nv := filepath.Join(state, "installations", v2)
		if readText(t, filepath.Join(nv, "left4dead2/who.txt")) != "v2" {
			t.Error("the new version lacks the new file")
		}
		if inode(t, filepath.Join(nv, "srcds_run")) != inode(t, filepath.Join(v1, "srcds_run")) {
			t.Error("the unchanged srcds_run was copied instead of reused")
		}
		// What the running server sees: its own, old files.
		if got := merged(t, "game1", "left4dead2/who.txt"); got != "v1" {
			t.Errorf("the running server sees who.txt = %q", got)
		}
		if n := query(t, c, 27040).Name; n != "build 100" {
			t.Errorf("game1 answers %q", n)
		}
		// The fix needs a home for the servers' user; on a host where the
		// user existed before the install it may have none, and the
		// update says how to give it one.
		if homeless {
			if !strings.Contains(out, "usermod -d /var/lib/left4me left4me") {
				t.Errorf("no advice for the homeless server user:\n%s", out)
			}
		} else if _, err := os.Stat(filepath.Join(state, ".steam/sdk32/steamclient.so")); err != nil {
			t.Errorf("steamclient.so fix: %v\n%s", err, out)
		}
	})

	t.Run("status", func(t *testing.T) {
		out, err := l4m(t, "game", "status")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !hasRow(out, gameV1, "100", "2025-11-01", "00:00", "UTC", "no", "busy,", "game1") || !strings.Contains(out, "UTC  yes      -") || !strings.Contains(out, "200 (up to date)") {
			t.Errorf("status:\n%s", out)
		}
		// The update left build 200 in steamcmd's app info cache, where
		// Debian's steamcmd keeps it (HOME/.local/share/Steam, as the
		// stand-in does): a newer build is seen only if that cache goes.
		cache := filepath.Join(state, "steamcmd/.local/share/Steam/appcache/appinfo.vdf")
		if !strings.Contains(readText(t, cache), "222860 200") {
			t.Fatalf("no app info cache of build 200 at %s", cache)
		}
		if err := writeFiles(filepath.Join(c.Root, "opt/steamcmd/depot"), map[string]string{"build": "300"}); err != nil {
			t.Fatal(err)
		}
		defer writeFiles(filepath.Join(c.Root, "opt/steamcmd/depot"), map[string]string{"build": "200"})
		if out, err := l4m(t, "game", "status"); err != nil || !strings.Contains(out, "300: update available") {
			t.Errorf("a stale app info cache answered: %v\n%s", err, out)
		}
	})

	t.Run("gc keeps the version servers run on", func(t *testing.T) {
		out, err := l4m(t, "game", "gc")
		if err != nil || !strings.Contains(out, "kept "+gameV1+" (build 100): in use by busy, game1") || !strings.Contains(out, "nothing to remove") {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("rolling restart when empty", func(t *testing.T) {
		out, err := l4m(t, "restart", "--all", "--when-empty", "--deadline", "3s")
		if err == nil || !strings.Contains(out, "left running: busy") || !strings.Contains(out, "game1: restarted") ||
			!strings.Contains(out, "busy: 2 player(s) on port 27041; waiting") {
			t.Fatalf("%v\n%s", err, out)
		}
		waitActive(t, c, "game1")
		if n := query(t, c, 27040).Name; n != "build 200" {
			t.Errorf("restarted game1 answers %q", n)
		}
		if got := merged(t, "game1", "left4dead2/who.txt"); got != "v2" {
			t.Errorf("restarted game1 sees who.txt = %q", got)
		}
		if got := merged(t, "busy", "left4dead2/who.txt"); got != "v1" {
			t.Errorf("busy (not restarted) sees who.txt = %q", got)
		}
	})

	t.Run("gc removes the old version once unused", func(t *testing.T) {
		out, err := l4m(t, "game", "gc")
		if err != nil || !strings.Contains(out, "kept "+gameV1+" (build 100): in use by busy") {
			t.Fatalf("%v\n%s", err, out)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@busy.service")
		out, err = l4m(t, "game", "gc")
		if err != nil || !strings.Contains(out, "removed "+gameV1+" (build 100)") {
			t.Fatalf("%v\n%s", err, out)
		}
		if got := storeEntries(t, state); len(got) != 1 || got[0] != v2 {
			t.Errorf("installations/ holds %v", got)
		}
		if n := query(t, c, 27040).Name; n != "build 200" {
			t.Errorf("game1 answers %q after gc", n)
		}
	})

	t.Run("the update service logs in with a credential", func(t *testing.T) {
		const pw = "s3cret-Pw"
		depot(t, c, "300", "v3", map[string]string{"account": "tester " + pw})
		if err := writeFiles(c.Root, map[string]string{
			"etc/left4me/update.env": "LEFT4ME_STEAMCMD=" + steamcmd + "\nLEFT4ME_STEAM_LOGIN=tester\n",
		}); err != nil {
			t.Fatal(err)
		}
		if homeless { // as the update advised
			c.MustRun(t, "systemctl", "stop", "l4d2@game1.service")
			c.MustRun(t, "usermod", "-d", "/var/lib/left4me", "left4me")
		}
		pwFile := filepath.Join(c.Root, "etc/left4me/steam-password")
		if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := c.Run(t, "systemctl", "start", "left4me-update.service"); err != nil {
			t.Fatalf("%v\n%s\njournal:\n%s", err, out, c.Journal(t, "left4me-update.service"))
		}
		j := c.Journal(t, "left4me-update.service")
		for _, w := range []string{"account tester", "steamcmd: Logging in user 'tester' to Steam Public...", "steamcmd: downloading",
			"updated to build 300: installation -> installations/300-"} {
			if !strings.Contains(j, w) {
				t.Errorf("journal lacks %q:\n%s", w, j)
			}
		}
		if _, err := os.Stat(filepath.Join(state, ".steam/sdk32/steamclient.so")); err != nil {
			t.Errorf("steamclient.so for the servers' user: %v", err)
		}
		if homeless && !strings.Contains(j, "installed /var/lib/left4me/.steam/sdk32/steamclient.so") {
			t.Errorf("steamclient.so not installed once the user had a home:\n%s", j)
		}
		if !strings.HasPrefix(currentLink(t, state), "installations/300-") {
			t.Errorf("installation -> %s", currentLink(t, state))
		}
		log := readText(t, filepath.Join(c.Root, "opt/steamcmd/depot/log"))
		if !strings.Contains(log, "login tester password=ok") || strings.Contains(log, "password-in-argv") {
			t.Errorf("stand-in log:\n%s", log)
		}
		all := c.MustRun(t, "journalctl", "-b", "--no-pager", "-o", "cat")
		if strings.Contains(all, pw) || strings.Contains(log, pw) {
			t.Error("the password is in the journal or in steamcmd's argv")
		}
		if mi := c.MustRun(t, "cat", "/proc/self/mountinfo"); strings.Contains(mi, ".staging-") {
			t.Errorf("a staging mount is left:\n%s", mi)
		}

		// Without the password file the credential falls back to empty and
		// steamcmd uses the login it cached.
		if err := os.Remove(pwFile); err != nil {
			t.Fatal(err)
		}
		depot(t, c, "400", "v4", map[string]string{"account": "tester " + pw})
		if out, err := c.Run(t, "systemctl", "start", "left4me-update.service"); err != nil {
			t.Fatalf("%v\n%s\njournal:\n%s", err, out, c.Journal(t, "left4me-update.service"))
		}
		if !strings.HasPrefix(currentLink(t, state), "installations/400-") {
			t.Errorf("installation -> %s", currentLink(t, state))
		}
		if log := readText(t, filepath.Join(c.Root, "opt/steamcmd/depot/log")); !strings.Contains(log, "login tester cached") {
			t.Errorf("stand-in log:\n%s", log)
		}
	})

	t.Run("the optional timer", func(t *testing.T) {
		c.MustRun(t, "systemctl", "enable", "--now", "left4me-update.timer")
		if st := strings.TrimSpace(c.MustRun(t, "systemctl", "is-active", "left4me-update.timer")); st != "active" {
			t.Errorf("timer is %s", st)
		}
		if next := c.MustRun(t, "systemctl", "show", "-P", "NextElapseUSecRealtime", "left4me-update.timer"); strings.TrimSpace(next) == "" {
			t.Error("the timer has no next run")
		}
	})
}
