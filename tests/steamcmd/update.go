package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// depotFile is one file app_update installs.
type depotFile struct {
	rel  string
	mode fs.FileMode
	data []byte
}

// windowsOnly are the files the Windows depot adds when the depot has no
// files-windows/: a Source dedicated server's srcds.exe at the top
// (Steam support, "Source engine gameservers on SteamPipe": the install
// holds "[base_install_path]/srcds.exe") and engine DLLs, which a Linux
// install of L4D2 is known to carry (ValveSoftware/Source-1-Games#1146:
// "Windows binaries (engine.dll etc ...) are included in the Linux
// version").
var windowsOnly = []string{"srcds.exe", "bin/engine.dll", "bin/tier0.dll", "left4dead2/bin/server.dll"}

// appUpdate runs `app_update 222860 [validate]`.
func (s *session) appUpdate(app string, validate bool) {
	switch {
	case s.loggedIn == "":
		s.fail("ERROR! Not logged on.")
		return
	case app != appID:
		s.fail("ERROR! Failed to install app '%s' (No subscription)", app)
		return
	case s.installDir == "":
		s.fail("ERROR! no force_install_dir (standin)")
		return
	}
	strict, err := s.switchValue("invalidplatform", "first", "always")
	if err == nil && s.loggedIn == "anonymous" && s.platform == "linux" && !s.windowsRan {
		// Since late 2024 an anonymous Linux download of 222860 fails
		// (ValveSoftware/steam-for-linux#11522, LinuxGSM#4754: the app
		// left the anonymous package); a windows pass first is the
		// known workaround (steam-for-linux#11522#issuecomment-2512232264,
		// SirPlease/L4D2-Competitive-Rework#858), also when the passes
		// run as two steamcmd processes (same guide, docker images). The
		// stand-in fails only a FIRST install: with an install in the
		// directory (a manifest of the app with a build) the linux update
		// works, also after an update of it stopped short: the manifest
		// then keeps the installed build and only its StateFlags say
		// "update started" (a first install's stopped download has
		// buildid "0", luxtorpeda-dev/luxtorpeda#238). No source settles whether the real one lets an existing
		// install update anonymously as linux; an Ark server's existing
		// install did get "Invalid platform" on update
		// (Acekorneya/Ark-Survival-Ascended-Server#129, a Windows-only
		// app). depot/invalidplatform "always" makes it harsher: then
		// only a windows pass in the same process helps.
		if strict == "always" || !s.installed() {
			s.logf("app_update platform=linux: invalid platform")
			s.fail("ERROR! Failed to install app '%s' (Invalid platform)", app)
			return
		}
	}
	rewrite, err2 := s.switchValue("rewrite", "changed", "all")
	if err = errors.Join(err, err2); err != nil {
		s.fail("ERROR! standin depot: %v", err)
		return
	}
	rewriteAll := rewrite == "all"
	s.logf("app_update %s platform=%s validate=%v rewrite=%s dir=%s", app, s.platform, validate, rewrite, s.installDir)
	files, err := s.depotFiles("files")
	var winFiles []depotFile
	if err == nil && s.platform == "windows" {
		winFiles, err = s.windowsFiles()
	}
	if err != nil {
		s.fail("ERROR! Failed to install app '%s' (No connection: %v)", app, err)
		return
	}
	all := mergeFiles(files, winFiles)
	// What the download brings: the files that differ from the install.
	var changed []depotFile
	ms := manifestState{flags: 1026, target: s.build()}
	current := s.completeInstall() && manifestField(readString(s.manifestPath()), "buildid") == s.build()
	for _, f := range all {
		if !sameFile(filepath.Join(s.installDir, f.rel), f) {
			changed = append(changed, f)
			ms.toDownload += int64(len(f.data))
		}
	}
	ms.toStage = ms.toDownload
	for _, d := range []string{s.downloadingDir(), s.tempDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
			return
		}
	}
	if code, ok := s.nextError(); ok {
		s.logf("app_update fails with %s (depot/errors)", code)
		s.printf(" Update state (0x61) downloading, progress: 0.00 (0 / %d)", ms.toDownload)
		if code == "nosub" {
			s.fail("ERROR! Failed to install app '%s' (No subscription)", app)
			return
		}
		// The download stopped short: half of the first file staged.
		var first *depotFile
		if len(changed) > 0 {
			first = &changed[0]
		}
		s.failStaged(first, ms, code)
		s.fail("Error! App '%s' state is %s after update job.", app, code)
		return
	}
	s.cacheAppInfo(app)
	s.printf(" Update state (0x3) reconfiguring, progress: 0.00 (0 / 0)")
	if err := s.writeManifest(ms); err != nil {
		s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
		return
	}
	delay, _ := time.ParseDuration(strings.TrimSpace(readString(filepath.Join(s.depot, "delay"))))
	resumed := 0
	for _, f := range changed {
		again, err := s.stageDownload(f)
		if err != nil {
			s.failStaged(nil, ms, "0x602")
			s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
			return
		}
		if again {
			resumed++
		}
		ms.done += int64(len(f.data))
		s.printf(" Update state (0x61) downloading, progress: %.2f (%d / %d)", percent(ms.done, ms.toDownload), ms.done, ms.toDownload)
		s.writeManifest(ms)
		if delay > 0 && !again {
			time.Sleep(delay)
		}
	}
	failAfter, exit0, failState := s.failPlan()
	var total, done int64
	for _, f := range all {
		total += int64(len(f.data))
	}
	written, nchanged := 0, 0
	state := "(0x61) downloading"
	if validate {
		state = "(0x81) verifying update"
	}
	for idx, f := range all {
		dst := filepath.Join(s.installDir, f.rel)
		same := sameFile(dst, f)
		// A changed file is rewritten in place. validate, or depot/rewrite
		// "all", rewrites EVERY file in place, an unchanged one with the
		// same bytes (new mtime, same inode): harsher than the real
		// validate, which "will overwrite any files that have been
		// changed" (Valve Developer Community, SteamCMD#Validate, quoted
		// in hjorslev/SteamPS#37), and like a linux validate pass after
		// a windows pass, which rewrites what the platforms share.
		// "all" models a steamcmd that rewrites every file but changes
		// only a few, for benchmarks.
		if same && !validate && !rewriteAll {
			done += int64(len(f.data))
			continue
		}
		data := f.data
		if !same {
			data = s.stagedData(f)
		}
		if failAfter >= 0 && idx >= failAfter {
			// The failure halfway through moving the staged files into
			// place: half of the file, written in place; the rest stays
			// in downloading/. It strikes at the same file in every run
			// (a file steamcmd cannot write): a resume that writes the
			// files before it again fails at it again.
			s.writeFile(dst, data[:len(data)/2], f.mode)
			s.logf("failing halfway at %s", f.rel)
			if exit0 {
				s.setExit(0)
			}
			s.failStaged(nil, ms, failState)
			s.fail("Error! App '%s' state is %s after update job.", app, failState)
			return
		}
		if err := s.writeFile(dst, data, f.mode); err != nil {
			s.failStaged(nil, ms, "0x602")
			s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
			return
		}
		os.Remove(filepath.Join(s.downloadingDir(), f.rel))
		written++
		if !same {
			nchanged++
			ms.staged += int64(len(f.data))
		}
		done += int64(len(f.data))
		s.printf(" Update state %s, progress: %.2f (%d / %d)", state, percent(done, total), done, total)
	}
	// Files the depot dropped go; a linux pass leaves the Windows depot's
	// files alone (the real one leaves foreign-platform files behind:
	// Source-1-Games#1146; the Linux Steam client was reported to remove
	// them for other games, steam-for-linux#4709, so keeping them is the
	// harsher choice).
	if err := s.removeStale(files, "standin_files.txt"); err != nil {
		s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
		return
	}
	if s.platform == "windows" {
		if err := s.removeStale(winFiles, "standin_files_windows.txt"); err != nil {
			s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
			return
		}
		s.windowsRan = true
	}
	s.logf("app_update wrote %d file(s), %d changed, %d resumed from downloading/", written, nchanged, resumed)
	if err := os.RemoveAll(s.downloadingDir()); err != nil {
		s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
		return
	}
	ms.flags, ms.done, ms.staged, ms.buildDone = 4, ms.toDownload, ms.toStage, s.build()
	if err := s.writeManifest(ms); err != nil {
		s.fail("ERROR! Failed to install app '%s' (Disk write failure: %v)", app, err)
		return
	}
	// Nothing to do for a current install: steamcmd says so in other
	// words (soda3x/ArmaReforgerServerTool#15, WindowsGSM#112: "Success!
	// App '1874900' already up to date.").
	if current && nchanged == 0 && !validate {
		s.printf("Success! App '%s' already up to date.", app)
		return
	}
	s.printf("Success! App '%s' fully installed.", app)
}

// switchValue reads a depot switch file: "" (none) is the first allowed
// value; anything else not allowed is an error.
func (s *session) switchValue(name string, allowed ...string) (string, error) {
	v := strings.TrimSpace(readString(filepath.Join(s.depot, name)))
	if v == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s is %q, not one of %s", name, v, strings.Join(allowed, ", "))
}

// sameFile reports whether dst already has f's content and mode.
func sameFile(dst string, f depotFile) bool {
	cur, err := os.ReadFile(dst)
	if err != nil || string(cur) != string(f.data) {
		return false
	}
	st, err := os.Stat(dst)
	return err == nil && st.Mode().Perm() == f.mode.Perm()
}

// mergeFiles is files with the Windows depot's over them, by path.
func mergeFiles(files, win []depotFile) []depotFile {
	byRel := map[string]depotFile{}
	for _, f := range files {
		byRel[f.rel] = f
	}
	for _, f := range win {
		byRel[f.rel] = f
	}
	out := make([]depotFile, 0, len(byRel))
	for _, f := range byRel {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
}

// windowsFiles is depot/files-windows/, or the synthesized windowsOnly.
func (s *session) windowsFiles() ([]depotFile, error) {
	if st, err := os.Stat(filepath.Join(s.depot, "files-windows")); err == nil && st.IsDir() {
		return s.depotFiles("files-windows")
	}
	var out []depotFile
	for _, rel := range windowsOnly {
		out = append(out, depotFile{rel: filepath.FromSlash(rel), mode: 0o644,
			data: []byte(fmt.Sprintf("MZ standin %s for windows, build %s\n", rel, s.build()))})
	}
	return out, nil
}

// writeFile rewrites an existing file in place: same path, same inode,
// truncated and written. A new file is created. Harsher than the real
// one as far as known: it "downloads them to steamapps/downloading/<appid>
// then removes the old files and replaces them with the new files"
// (klightspeed in arkmanager/ark-server-tools PR #281); a writer in place
// is what left4me's staging must keep away from the old versions.
func (s *session) writeFile(dst string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode.Perm())
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, mode.Perm())
	}
	return err
}

func (s *session) manifestPath() string {
	return filepath.Join(s.installDir, "steamapps", "appmanifest_"+appID+".acf")
}

// manifestField returns the value of key in the app manifest's text.
func manifestField(text, key string) string {
	for _, line := range strings.Split(text, "\n") {
		if w := tokenize(line); len(w) == 2 && w[0] == key {
			return w[1]
		}
	}
	return ""
}

// completeInstall reports whether the install directory holds the
// manifest of a complete install of the app (StateFlags 4).
func (s *session) completeInstall() bool {
	m := readString(s.manifestPath())
	return manifestField(m, "appid") == appID && manifestField(m, "StateFlags") == "4"
}

// installed reports whether the install directory holds the app at some
// build, complete or in the middle of an update.
func (s *session) installed() bool {
	m := readString(s.manifestPath())
	b := manifestField(m, "buildid")
	return manifestField(m, "appid") == appID && b != "" && b != "0"
}

func percent(done, total int64) float64 {
	if total <= 0 {
		return 100
	}
	return float64(done) * 100 / float64(total)
}

// depotFiles is the tree below depot/dir, sorted.
func (s *session) depotFiles(dir string) ([]depotFile, error) {
	root := filepath.Join(s.depot, dir)
	var out []depotFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, depotFile{rel: rel, mode: st.Mode(), data: data})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, err
}

// nextError takes the next failure of depot/errors, a list of states for
// the app_update runs to come, one per run, across steamcmd processes
// (depot/errors.used counts those taken): a state such as 0x402 ends the
// run with "Error! App '222860' state is 0x402 after update job.", as
// steamcmd reports a download that stopped short (0x402, 0x602: LinuxGSM
// core_dl.sh, "Update required but not completed - check network"; 0x606,
// 0x626, 0x6A6 as issue 24 names them from operators' reports, though
// LinuxGSM-Docs' steamcmd/errors.md calls 0x606 a disk write failure) or
// a full disk (0x202, 0x212: "Not enough disk space"). The line is the
// form with the app's id; the shorter "Error! State is 0x402 after update
// job." that LinuxGSM-Docs quotes is parsed too (package steamcmd's
// tests). "nosub" ends it with "ERROR! Failed to install app
// '222860' (No subscription)", an account without the app. Once the list
// is used up, runs succeed.
func (s *session) nextError() (string, bool) {
	list := strings.Fields(readString(filepath.Join(s.depot, "errors")))
	usedPath := filepath.Join(s.depot, "errors.used")
	used, _ := strconv.Atoi(strings.TrimSpace(readString(usedPath)))
	if used >= len(list) {
		return "", false
	}
	os.WriteFile(usedPath, []byte(strconv.Itoa(used+1)+"\n"), 0o644)
	return list[used], true
}

// failPlan reads depot/fail: -1 when no failure is asked for.
// depot/fail is "N [exit0] [STATE]": STATE (default 0x602) is the state
// of the failure line.
func (s *session) failPlan() (after int, exit0 bool, state string) {
	f := strings.Fields(readString(filepath.Join(s.depot, "fail")))
	state = "0x602"
	if len(f) == 0 {
		return -1, false, state
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return -1, false, state
	}
	for _, w := range f[1:] {
		switch {
		case w == "exit0":
			exit0 = true
		case strings.HasPrefix(w, "0x"):
			state = w
		}
	}
	return n, exit0, state
}

// removeStale deletes the files a previous run installed from this depot
// (listed in steamapps/list) that it no longer has, as steamcmd does from
// its depot manifests, and records the current list.
func (s *session) removeStale(files []depotFile, list string) error {
	list = filepath.Join(s.installDir, "steamapps", list)
	now := map[string]bool{}
	var names []string
	for _, f := range files {
		now[f.rel] = true
		names = append(names, f.rel)
	}
	for _, old := range strings.Split(readString(list), "\n") {
		if old != "" && !now[old] && !strings.Contains(old, "..") {
			if err := os.Remove(filepath.Join(s.installDir, old)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return s.writeFile(list, []byte(strings.Join(names, "\n")+"\n"), 0o644)
}
