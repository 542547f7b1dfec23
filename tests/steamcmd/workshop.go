package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// workshopDownload runs `workshop_download_item APP ID`. The depot's
// workshop/ID/ holds the item's files, served as they are (the tests put
// a vpk, or one NNN_legacy.bin: steamcmd stores an item uploaded as a
// single file unpacked under that name, as its own "Success. Downloaded
// item ... _legacy.bin" lines and scripts that strip the suffix from
// steamapps/workshop/content/APP/ID show; no source was found naming L4D2's
// items specifically, so the helper takes either); workshop/ID.fail, if
// present, holds the result word of a failure (Failure, Access Denied,
// File Not Found, Timeout, No Connection: the results steamcmd prints,
// Steam-Community-Market-Manager/SCMM#22, shadoxxhd/steamworkshopdownloader
// #28 and #29, ValveSoftware/steam-for-linux#12339).
//
// The item lands in FORCE_INSTALL_DIR/steamapps/workshop/content/APP/ID
// (without force_install_dir, in the Steam root's steamapps), its files
// replacing what an earlier download left there.
//
// A failed download does NOT fail the command: steamcmd prints the error
// and goes on, exit status 0, even with @ShutdownOnFailedCommand 1
// (ValveSoftware/steam-for-linux#12339). Callers must read the output.
func (s *session) workshopDownload(app, id string) {
	if s.loggedIn == "" {
		s.fail("ERROR! Not logged on.") // as app_update (harsher: not verified for this command)
		return
	}
	// Before the result, as steam-for-linux#12339 and #8956 show.
	s.printf("Downloading item %s ...", id)
	fail := func(result string) {
		s.logf("workshop_download_item %s %s: %s", app, id, result)
		s.printf("ERROR! Download item %s failed (%s).", id, result)
	}
	if app != "550" || id == "" || strings.ContainsAny(id, "/.") {
		fail("Failure")
		return
	}
	if b, err := os.ReadFile(filepath.Join(s.depot, "workshop", id+".fail")); err == nil {
		fail(strings.TrimSpace(string(b)))
		return
	}
	src := filepath.Join(s.depot, "workshop", id)
	if st, err := os.Stat(src); err != nil || !st.IsDir() {
		fail("File Not Found")
		return
	}
	base := s.installDir
	if base == "" {
		base = s.root
	}
	dst := filepath.Join(base, "steamapps", "workshop", "content", app, id)
	var n int64
	err := os.RemoveAll(dst)
	if err == nil {
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(src, p)
			to := filepath.Join(dst, rel)
			if d.IsDir() {
				return os.MkdirAll(to, 0o755)
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// Kept a link: a hostile item's tree, as callers must expect.
				l, err := os.Readlink(p)
				if err == nil {
					err = os.Symlink(l, to)
				}
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			n += int64(len(b))
			return os.WriteFile(to, b, 0o644)
		})
	}
	if err != nil {
		s.logf("workshop_download_item %s %s: %v", app, id, err)
		fail("Failure")
		return
	}
	s.logf("workshop_download_item %s %s: %d bytes to %s", app, id, n, dst)
	// The result line as steamcmd prints it: the item's directory, quoted,
	// and its size.
	s.printf("Success. Downloaded item %s to %s (%s bytes)", id, quote(dst), fmt.Sprint(n))
}

func quote(s string) string { return `"` + s + `"` }
