package main

import (
	"os"
	"path/filepath"
	"strings"
)

// appInfoPath is steamcmd's app info cache, appcache/appinfo.vdf below
// the Steam root (arkmanager/ark-server-tools#124: "steamcmd creates
// ~/Steam/appcache/appinfo.vdf" with Valve's tarball, whose root is
// HOME/Steam; the stand-in has Debian's root, see steamRoot). The real
// file is binary; the stand-in's is text, left4me only ever deletes it.
func (s *session) appInfoPath() string {
	return filepath.Join(s.root, "appcache", "appinfo.vdf")
}

// steamRoot is the Steam root of Debian's steamcmd: its /usr/games/
// steamcmd wrapper (steam-installer source package) makes
// ${XDG_DATA_HOME:-$HOME/.local/share}/Steam the root "to avoid that
// steamcmd uses /home/$user/Steam" (the wrapper as quoted in issue #24;
// its author's flatpak variant likewise roots Steam in XDG_DATA_HOME and
// creates appcache/ there). Valve's tarball would use HOME/Steam: the
// stand-in takes Debian's, the layout of the package the README
// recommends, so a left4me that looks only in HOME/Steam fails.
func steamRoot(home, xdgData string) string {
	if home == "" {
		return ""
	}
	if xdgData == "" {
		xdgData = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(xdgData, "Steam")
}

// cachedBuild returns the build the cache holds for app.
func (s *session) cachedBuild(app string) (string, bool) {
	if s.home == "" {
		return "", false
	}
	for _, line := range strings.Split(readString(s.appInfoPath()), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == app {
			return f[1], true
		}
	}
	return "", false
}

// cacheAppInfo writes the cache when there is none, with the depot's
// build of now. steamcmd fetches app info for app_update too, so a
// freshly installed server's cache already holds the build it installed
// (LinuxGSM PR #2841: "with a freshly installed server ... said that the
// server is up to date when it wasn't").
func (s *session) cacheAppInfo(app string) {
	if s.home == "" {
		return
	}
	if _, err := os.Stat(s.appInfoPath()); err == nil {
		return
	}
	build := s.build()
	os.MkdirAll(filepath.Dir(s.appInfoPath()), 0o755)
	text := "// standin steamcmd app info cache (the real one is binary)\n" + app + " " + build + "\n"
	if err := os.WriteFile(s.appInfoPath(), []byte(text), 0o644); err == nil {
		s.logf("appinfo cache written: %s build %s", app, build)
	}
}

// appInfo prints the app info of app_info_print. It answers from the
// cache when there is one, even after app_info_update 1: steamcmd is known
// to print stale cached app info, and tools delete the cache before
// asking (LinuxGSM PR #2841 "remove appinfo.vdf correctly": "If we don't
// delete this file before checking for updates, SteamCMD might not fetch
// the most up to date BuildID"; LinuxGSM's core_steamcmd.sh deletes it,
// issue #4713; arkmanager/ark-server-tools#124: checkupdate said "up to
// date" while out of date). Without a cache it answers the depot's build
// and writes the cache. Left out: newer steamcmd printing nothing or
// "No app info for AppID ... found, requesting..." (steam-for-linux
// #11521, #9683).
func (s *session) appInfo(app string) {
	if s.loggedIn == "" {
		s.fail("ERROR! Not logged on.")
		return
	}
	build, ok := s.cachedBuild(app)
	if ok {
		s.logf("app_info_print %s: from the cache, build %s", app, build)
	} else {
		build = s.build()
		s.logf("app_info_print %s: not cached, build %s", app, build)
		s.cacheAppInfo(app)
	}
	s.printf("AppID : %s, change number : 1/0, last change : Wed Nov 26 12:00:00 2025", app)
	s.printf(`"%s"
{
	"common"
	{
		"name"		"Left 4 Dead 2 Dedicated Server"
	}
	"depots"
	{
		"branches"
		{
			"public"
			{
				"buildid"		"%s"
				"timeupdated"		"1764158400"
			}
		}
	}
}`, app, build)
}

// build is the depot's current build.
func (s *session) build() string {
	if v := strings.TrimSpace(readString(filepath.Join(s.depot, "build"))); v != "" {
		return v
	}
	return "1"
}
