package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// writes records the files the stand-in writes into the game tree the way
// the real server and its add-ons do, for the report: every write that
// worked and every one that failed. A failure is also printed as one loud
// line and never stops the server: SourceMod and the engine log such
// errors and go on.
type writes struct {
	out    io.Writer
	wrote  []string // paths relative to the working directory
	errors []string // the loud lines, without the "standin: " prefix
}

func newWrites(out io.Writer) *writes {
	return &writes{out: out, wrote: []string{}, errors: []string{}}
}

func (w *writes) done(path string) { w.wrote = append(w.wrote, path) }

func (w *writes) failed(who, path string, err error) {
	msg := fmt.Sprintf("%s: cannot write %s: %v", who, path, cause(err))
	w.errors = append(w.errors, msg)
	fmt.Fprintf(w.out, "standin: %s\n", msg)
}

// cause strips the operation and path Go's errors repeat.
func cause(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	if le, ok := err.(*os.LinkError); ok {
		return le.Err
	}
	return err
}

// mkdirs creates dir and its missing parents one by one with mode 0775,
// as SourceMod's LibrarySystem::CreateFolder does for each folder it needs
// (core/logic/LibrarySys.cpp: mkdir(path, 0775)).
func mkdirs(dir string) error {
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirs(parent); err != nil {
			return err
		}
	}
	err := os.Mkdir(dir, 0o775)
	if os.IsExist(err) {
		if st, serr := os.Stat(dir); serr == nil && st.IsDir() {
			return nil
		}
	}
	return err
}

// appendFile opens path like fopen(path, "a+") and writes data in one
// write.
func appendFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// smLogDate is SourceMod's log line time stamp (Logger.cpp: strftime
// "%m/%d/%Y - %H:%M:%S").
func smLogDate(t time.Time) string { return t.Format("01/02/2006 - 15:04:05") }

// runSourceMod does what a freshly started SourceMod writes, when the game
// has addons/sourcemod: Metamod:Source loads SourceMod from there
// (addons/metamod/sourcemod.vdf: "file" "addons/sourcemod/bin/sourcemod_mm",
// AlliedModders wiki, Metamod:Source VDF Files). The stand-in takes the
// folder alone as the sign, which is harsher than needing Metamod too.
func runSourceMod(game string, now time.Time, w *writes) {
	sm := filepath.Join(game, "addons", "sourcemod")
	if st, err := os.Stat(sm); err != nil || !st.IsDir() {
		return
	}
	fmt.Fprintf(w.out, "standin: sourcemod: %s found, writing like SourceMod\n", sm)
	smLog(game, sm, now, w)
	clientprefs(sm, w)
	autoExecConfigs(game, sm, w)
}

// smLog is SourceMod's Logger in its default daily mode (core/logic/
// Logger.cpp): at startup logs/ is created if missing; each message is
// appended to logs/L<YYYYMMDD>.log, opened with fopen "a+", the first one
// after a "SourceMod log file session started" line. When the file does not
// open, the logger writes "[SM] Unexpected fatal logging error" and the
// platform error to GAME/sourcemod_fatal.log and drops the message.
func smLog(game, sm string, now time.Time, w *writes) {
	logs := filepath.Join(sm, "logs")
	_ = mkdirs(logs) // the Logger ignores this result; the open below fails
	path := filepath.Join(logs, "L"+now.Format("20060102")+".log")
	abs, _ := filepath.Abs(path)
	date := smLogDate(now)
	line := fmt.Sprintf("L %s: SourceMod log file session started (file \"%s\") (Version \"standin\")\n", date, abs)
	if err := appendFile(path, line); err != nil {
		w.failed("sourcemod", path, err)
		fatal := filepath.Join(game, "sourcemod_fatal.log")
		msg := fmt.Sprintf("L %s: [SM] Unexpected fatal logging error (file \"%s\")\n", date, abs) +
			fmt.Sprintf("L %s: [SM] Platform returned error: \"%v\"\n", date, cause(err))
		if err := appendFile(fatal, msg); err != nil {
			w.failed("sourcemod", fatal, err)
		} else {
			w.done(fatal)
		}
		return
	}
	w.done(path)
}

// clientprefs opens the clientprefs database: configs/databases.cfg maps
// "clientprefs" to the sqlite driver and the database "clientprefs-sqlite",
// which the driver keeps in data/sqlite/clientprefs-sqlite.sq3, creating
// data/ and data/sqlite/ first (extensions/sqlite/driver/SqDriver.cpp), and
// sqlite3_open opens the file read-write, creating it. The stand-in opens
// it whether or not clientprefs.smx is there (it is by default).
func clientprefs(sm string, w *writes) {
	dir := filepath.Join(sm, "data", "sqlite")
	path := filepath.Join(dir, "clientprefs-sqlite.sq3")
	if err := mkdirs(dir); err != nil {
		w.failed("sourcemod", path, err)
		return
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644) // SQLite's default file mode
	if err != nil {
		w.failed("sourcemod", path, err)
		return
	}
	f.Close()
	w.done(path)
}

// autoExecConfigs creates cfg/sourcemod/plugin.<name>.cfg for every
// plugins/<name>.smx that lacks one: AutoExecConfig's defaults are "the
// plugin's name ... with plugin. prepended" in the folder "sourcemod" under
// cfg/, created "if the specified config file does not exist", each missing
// folder created (SourceMod API reference, AutoExecConfig; AlliedModders
// wiki, AutoConfigs). The stand-in does it for every plugin, as if each
// called AutoExecConfig(true).
func autoExecConfigs(game, sm string, w *writes) {
	plugins, _ := filepath.Glob(filepath.Join(sm, "plugins", "*.smx"))
	sort.Strings(plugins)
	dir := filepath.Join(game, "cfg", "sourcemod")
	for _, p := range plugins {
		file := filepath.Base(p)
		path := filepath.Join(dir, "plugin."+strings.TrimSuffix(file, ".smx")+".cfg")
		if _, err := os.Lstat(path); err == nil {
			continue
		}
		if err := mkdirs(dir); err != nil {
			w.failed("sourcemod", path, err)
			continue
		}
		body := fmt.Sprintf("// This file was auto-generated by SourceMod (vstandin)\n// ConVars for plugin %q\n\n", file)
		if err := os.WriteFile(path, []byte(body), 0o666); err != nil {
			w.failed("sourcemod", path, err)
			continue
		}
		w.done(path)
	}
}

// writeID is the engine's writeid command, which server.cfg files commonly
// end with (engine/sv_filter.cpp): "Writing cfg/banned_user.cfg.", then the
// file is opened "wb" (truncated in place) and every permanent ban is
// written as "banid 0 ID\r\n"; if it does not open, "Couldn't open
// cfg/banned_user.cfg". The stand-in runs it when the file exists, with
// the permanent bans the file held, as after "exec banned_user.cfg".
func writeID(game string, w *writes) {
	path := filepath.Join(game, "cfg", "banned_user.cfg")
	if _, err := os.Stat(path); err != nil {
		return
	}
	fmt.Fprintln(w.out, "Writing cfg/banned_user.cfg.")
	var list strings.Builder
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if words := strings.Fields(sc.Text()); len(words) == 3 && strings.EqualFold(words[0], "banid") && words[1] == "0" {
				list.WriteString("banid 0 " + words[2] + "\r\n")
			}
		}
		f.Close()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		fmt.Fprintln(w.out, "Couldn't open cfg/banned_user.cfg")
		w.failed("writeid", path, err)
		return
	}
	_, err = f.WriteString(list.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		w.failed("writeid", path, err)
		return
	}
	w.done(path)
}
