package main

import (
	"errors"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// bindReadOnly makes dir read-only for everyone, root included, with a
// read-only bind mount of itself (file modes do not stop root).
func bindReadOnly(t *testing.T, dir string) {
	t.Helper()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("bind mount needs root: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
}

// A read-only addons/ and cfg/, as in an overlay whose upper layer is
// read-only: every write of SourceMod and writeid fails loudly, the report
// lists them, and the server runs on and answers.
func TestStandinReadOnly(t *testing.T) {
	dir := writeCfgs(t, map[string]string{"banned_user.cfg": "banid 0 STEAM_1:0:1\n", "server.cfg": "hostname ro"})
	writeTree(t, dir, map[string]string{smGame + "addons/sourcemod/plugins/nextmap.smx": "smx"})
	bindReadOnly(t, dir+"/left4dead2/addons")
	bindReadOnly(t, dir+"/left4dead2/cfg")
	port := strconv.Itoa(int(freeUDPPort(t)))
	s := startStandin(t, dir, nil, "-game", "left4dead2", "-port", port)
	day := time.Now().Format("20060102")
	wantErrors := []string{
		"writeid: cannot write left4dead2/cfg/banned_user.cfg: read-only file system",
		// The Logger ignores that it could not create logs/; the open fails.
		"sourcemod: cannot write left4dead2/addons/sourcemod/logs/L" + day + ".log: no such file or directory",
		"sourcemod: cannot write left4dead2/addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3: read-only file system",
		"sourcemod: cannot write left4dead2/cfg/sourcemod/plugin.nextmap.cfg: read-only file system",
	}
	s.waitLine(t, "Couldn't open cfg/banned_user.cfg")
	for _, e := range wantErrors {
		s.waitLine(t, "standin: "+e)
	}
	s.waitLine(t, "standin: listening on udp ")
	if info, err := queryInfo(t, "127.0.0.1:"+port, 2*time.Second); err != nil || info.Name != "ro" {
		t.Errorf("A2S_INFO %+v, %v", info, err)
	}
	rep := readReport(t, dir)
	if !reflect.DeepEqual(rep.WriteErrors, wantErrors) || !reflect.DeepEqual(rep.Wrote, []string{"left4dead2/sourcemod_fatal.log"}) {
		t.Errorf("report write_errors %q, wrote %q", rep.WriteErrors, rep.Wrote)
	}
}
