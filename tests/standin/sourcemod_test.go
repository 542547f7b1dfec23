package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/tests/treetest"
)

// writeTree creates files below dir (a trailing / makes a directory).
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := treetest.Write(dir, files); err != nil {
		t.Fatal(err)
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

var smNow = time.Date(2026, 11, 30, 21, 5, 9, 0, time.Local)

const smGame = "left4dead2/"

func TestSourceMod(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		smGame + "addons/sourcemod/plugins/admin-flatfile.smx": "smx",
		smGame + "addons/sourcemod/plugins/basebans.smx":       "smx",
		smGame + "addons/sourcemod/plugins/readme.txt":         "not a plugin",
		smGame + "addons/sourcemod/plugins/disabled/old.smx":   "not loaded",
		smGame + "cfg/sourcemod/plugin.basebans.cfg":           "// mine\n",
		smGame + "addons/sourcemod/logs/L20261130.log":         "L earlier\n",
	})
	t.Chdir(dir)
	var out strings.Builder
	w := newWrites(&out)
	runSourceMod("left4dead2", smNow, w)
	want := []string{
		smGame + "addons/sourcemod/logs/L20261130.log",
		smGame + "addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3",
		smGame + "cfg/sourcemod/plugin.admin-flatfile.cfg",
	}
	if !reflect.DeepEqual(w.wrote, want) || len(w.errors) != 0 {
		t.Errorf("wrote %q, errors %q; want %q", w.wrote, w.errors, want)
	}
	log := readText(t, want[0])
	wantLog := "L earlier\nL 11/30/2026 - 21:05:09: SourceMod log file session started (file \"" +
		filepath.Join(dir, want[0]) + "\") (Version \"standin\")\n"
	if log != wantLog {
		t.Errorf("log %q, want %q", log, wantLog)
	}
	if got := readText(t, want[2]); !strings.Contains(got, `// ConVars for plugin "admin-flatfile.smx"`) {
		t.Errorf("plugin cfg %q", got)
	}
	if got := readText(t, smGame+"cfg/sourcemod/plugin.basebans.cfg"); got != "// mine\n" {
		t.Errorf("an existing plugin cfg was rewritten: %q", got)
	}
	if st, err := os.Stat(smGame + "addons/sourcemod/data/sqlite"); err != nil || st.Mode().Perm() != 0o775&^umask() {
		t.Errorf("data/sqlite: %v, %v", st, err)
	}
}

func umask() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
}

func TestSourceModAbsent(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no addons":           {smGame + "cfg/server.cfg": ""},
		"sourcemod is a file": {smGame + "addons/sourcemod": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, files)
			t.Chdir(dir)
			var out strings.Builder
			w := newWrites(&out)
			runSourceMod("left4dead2", smNow, w)
			if len(w.wrote)+len(w.errors) != 0 || out.Len() != 0 {
				t.Errorf("wrote %q, errors %q, output %q", w.wrote, w.errors, out.String())
			}
		})
	}
}

// Files where SourceMod needs folders: every write fails loudly, the
// logger falls back to sourcemod_fatal.log, and nothing stops.
func TestSourceModWriteErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		smGame + "addons/sourcemod/plugins/funcommands.smx": "smx",
		smGame + "addons/sourcemod/logs":                    "a file",
		smGame + "addons/sourcemod/data":                    "a file",
		smGame + "cfg/sourcemod":                            "a file",
	})
	t.Chdir(dir)
	var out strings.Builder
	w := newWrites(&out)
	runSourceMod("left4dead2", smNow, w)
	wantErrors := []string{
		"sourcemod: cannot write " + smGame + "addons/sourcemod/logs/L20261130.log: not a directory",
		"sourcemod: cannot write " + smGame + "addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3: file exists",
		"sourcemod: cannot write " + smGame + "cfg/sourcemod/plugin.funcommands.cfg: file exists",
	}
	if !reflect.DeepEqual(w.errors, wantErrors) {
		t.Errorf("errors\n%q\nwant\n%q", w.errors, wantErrors)
	}
	if want := []string{smGame + "sourcemod_fatal.log"}; !reflect.DeepEqual(w.wrote, want) {
		t.Errorf("wrote %q, want %q", w.wrote, want)
	}
	var want []string
	for _, e := range wantErrors {
		want = append(want, "standin: "+e)
	}
	assertLinesInOrder(t, out.String(), want)
	fatal := readText(t, smGame+"sourcemod_fatal.log")
	if !strings.Contains(fatal, `[SM] Unexpected fatal logging error (file "`) ||
		!strings.Contains(fatal, `[SM] Platform returned error: "not a directory"`) {
		t.Errorf("sourcemod_fatal.log %q", fatal)
	}
}

func TestWriteID(t *testing.T) {
	dir := t.TempDir()
	bans := "banid 0 STEAM_1:0:1\nbanid 30 STEAM_1:0:2\n// comment\nBANID 0 STEAM_1:1:3\r\n"
	writeTree(t, dir, map[string]string{smGame + "cfg/banned_user.cfg": bans})
	path := filepath.Join(dir, smGame+"cfg/banned_user.cfg")
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var out strings.Builder
	w := newWrites(&out)
	writeID("left4dead2", w)
	if got, want := readText(t, path), "banid 0 STEAM_1:0:1\r\nbanid 0 STEAM_1:1:3\r\n"; got != want {
		t.Errorf("banned_user.cfg %q, want %q", got, want)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("banned_user.cfg was replaced, not rewritten in place")
	}
	if out.String() != "Writing cfg/banned_user.cfg.\n" || !reflect.DeepEqual(w.wrote, []string{smGame + "cfg/banned_user.cfg"}) {
		t.Errorf("output %q, wrote %q", out.String(), w.wrote)
	}

	// No file, no writeid.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	w = newWrites(&out)
	writeID("left4dead2", w)
	if _, err := os.Stat(path); err == nil || len(w.wrote) != 0 {
		t.Errorf("created banned_user.cfg: %q", w.wrote)
	}
}
