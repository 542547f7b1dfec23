package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Where app_update stages its work, inside force_install_dir:
//
//   - steamapps/downloading/222860/ holds the files being built from the
//     downloaded chunks; "Once all the new modified files are built out
//     of their chunks, they're moved over to the game's install folder",
//     so that "it doesn't trash your existing install while the patching
//     is in progress" (a Steam content engineer's explanation, as quoted
//     at triadaeq.blogg.se "steam download stuck at 0"; Steamworks'
//     "Uploading to Steam": "Games/apps stay available offline even
//     after an update download has been started"; klightspeed in
//     arkmanager/ark-server-tools PR #281: steamcmd "downloads them to
//     steamapps/downloading/<appid> then removes the old files and
//     replaces them"). An update so needs the changed files' size twice.
//   - steamapps/temp/: made at the start. No source says what is in it
//     or whether either directory goes after success: the stand-in
//     leaves both, empty, behind (harsher); downloading/222860/ goes.
//   - a failed or interrupted run leaves downloading/222860/ as it was,
//     a half file included, for the next run to resume from (LinuxGSM
//     core_dl.sh simply runs app_update again on 0x402/0x602), and the
//     manifest with StateFlags of the failure: the state steamcmd names,
//     "state is 0x402 after update job", is the app's state flags, 0x402
//     = 1026, what the manifest of an interrupted download holds
//     (luxtorpeda-dev/luxtorpeda#238: "StateFlags" "1026" with
//     BytesToDownload/BytesDownloaded/BytesToStage/BytesStaged and
//     TargetBuildID; akorb/SteamShutdown#30 the same fields).

// manifestState is what writeManifest writes besides the fixed fields.
type manifestState struct {
	flags             int
	toDownload, done  int64
	toStage, staged   int64
	target, buildDone string // TargetBuildID; buildid once complete
}

func (s *session) downloadingDir() string {
	return filepath.Join(s.installDir, "steamapps", "downloading", appID)
}

func (s *session) tempDir() string {
	return filepath.Join(s.installDir, "steamapps", "temp")
}

// stateFlags turns a state such as 0x602 into the manifest's decimal.
func stateFlags(state string) int {
	n, err := strconv.ParseInt(state, 0, 64)
	if err != nil {
		return 1026
	}
	return int(n)
}

// stageDownload writes f's full content into downloading/222860/ and
// reports whether it was there already complete (a resumed download).
func (s *session) stageDownload(f depotFile) (resumed bool, err error) {
	dst := filepath.Join(s.downloadingDir(), f.rel)
	if b, err := os.ReadFile(dst); err == nil && string(b) == string(f.data) {
		return true, nil
	}
	return false, s.writeFile(dst, f.data, f.mode)
}

// stagedData is f's content from downloading/222860/ (what the commit
// moves into place), or f.data when it was not downloaded.
func (s *session) stagedData(f depotFile) []byte {
	if b, err := os.ReadFile(filepath.Join(s.downloadingDir(), f.rel)); err == nil {
		return b
	}
	return f.data
}

// failStaged ends the update job with state: half of f in downloading/,
// the manifest with the state's flags.
func (s *session) failStaged(f *depotFile, st manifestState, state string) {
	if f != nil {
		s.writeFile(filepath.Join(s.downloadingDir(), f.rel), f.data[:len(f.data)/2], f.mode)
	}
	st.flags = stateFlags(state)
	s.writeManifest(st)
}

// writeManifest writes the app manifest in place: the build installed
// stays until the update completes.
func (s *session) writeManifest(st manifestState) error {
	build := st.buildDone
	if build == "" {
		build = manifestField(readString(s.manifestPath()), "buildid")
	}
	if build == "" {
		build = "0"
	}
	text := fmt.Sprintf(`"AppState"
{
	"appid"		"%s"
	"Universe"		"1"
	"name"		"Left 4 Dead 2 Dedicated Server"
	"StateFlags"		"%d"
	"installdir"		"Left 4 Dead 2 Dedicated Server"
	"LastUpdated"		"%d"
	"buildid"		"%s"
	"UpdateResult"		"0"
	"BytesToDownload"		"%d"
	"BytesDownloaded"		"%d"
	"BytesToStage"		"%d"
	"BytesStaged"		"%d"
	"TargetBuildID"		"%s"
}
`, appID, st.flags, time.Now().Unix(), build, st.toDownload, st.done, st.toStage, st.staged, st.target)
	return s.writeFile(s.manifestPath(), []byte(text), 0o644)
}
