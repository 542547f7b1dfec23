package prestart

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func ownerOf(t *testing.T, p string) [2]uint32 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return [2]uint32{st.Uid, st.Gid}
}

// A server whose uid changed (its dynamic uid was taken, or an upgrade
// from the shared user) gets its upper layer and dumps back: every entry of
// its earlier uid, links themselves and not their targets; root's files
// stay root's; runtime/NAME becomes root's alone and the staged cfgs the
// server's alone.
func TestStartAdoptsEarlierUser(t *testing.T) {
	e := newEnv(t, "")
	const earlier = 4242
	outside := filepath.Join(t.TempDir(), "victim")
	mk(t, outside, "keep", 0o644)
	if err := os.Chown(outside, earlier, earlier); err != nil {
		t.Fatal(err)
	}
	upper := e.path("runtime/srv/upper")
	for _, p := range []string{"left4dead2/addons/sourcemod/data/db.sq3", "left4dead2/cfg/sourcemod/plugin.x.cfg"} {
		mk(t, filepath.Join(upper, p), "x", 0o644)
	}
	mk(t, filepath.Join(upper, "left4dead2/operator.txt"), "root's", 0o644)
	symlink(t, outside, filepath.Join(upper, "left4dead2/link"))
	mk(t, e.path("runtime/srv/dumps/crash.dmp"), "dump", 0o644)
	if err := os.Chmod(e.path("runtime/srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, top := range []string{upper, e.path("runtime/srv/dumps")} {
		err := filepath.Walk(top, func(p string, fi os.FileInfo, err error) error {
			if err != nil || strings.HasSuffix(p, "operator.txt") {
				return err
			}
			return os.Lchown(p, earlier, earlier)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := startSpec(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Stop(e.c, "srv") })
	server := [2]uint32{testUID, testGID}
	for _, p := range []string{upper, upper + "/left4dead2/addons/sourcemod/data/db.sq3", upper + "/left4dead2/addons/sourcemod",
		upper + "/left4dead2/cfg/sourcemod/plugin.x.cfg", upper + "/left4dead2/link", e.path("runtime/srv/dumps"), e.path("runtime/srv/dumps/crash.dmp")} {
		if got := ownerOf(t, p); got != server {
			t.Errorf("%s belongs to %v, want the server's %v", p, got, server)
		}
	}
	if got := ownerOf(t, upper+"/left4dead2/operator.txt"); got != [2]uint32{0, 0} {
		t.Errorf("root's file was given away: %v", got)
	}
	if got := ownerOf(t, outside); got != [2]uint32{earlier, earlier} {
		t.Errorf("the link's target outside changed owner: %v", got)
	}
	if !strings.Contains(e.log.String(), "belonged to uid 4242") {
		t.Errorf("log does not say so:\n%s", e.log)
	}
	for p, want := range map[string]os.FileMode{
		e.path("runtime/srv"):                            0o700,
		upper + "/left4dead2/cfg/server.cfg":             0o600,
		upper + "/left4dead2/cfg/" + AliasCfgName("top"): 0o600,
	} {
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode().Perm(), err, want)
		}
	}
}

// The uid of a dynamic user comes from PID 1's varlink service; a static
// user of the same name wins, as it does for systemd.
func TestInstanceUser(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "io.systemd.DynamicUser")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			switch req := string(buf[:n]); {
			case strings.Contains(req, `"userName":"l4d2-alpha"`) && strings.HasSuffix(req, "\x00"):
				c.Write([]byte(`{"parameters":{"record":{"userName":"l4d2-alpha","uid":63257,"gid":63257},"incomplete":false}}` + "\x00"))
			case strings.Contains(req, `"userName":"l4d2-root"`):
				c.Write([]byte(`{"parameters":{"record":{"uid":0}}}` + "\x00"))
			case strings.Contains(req, `"userName":"l4d2-huge"`):
				c.Write([]byte(strings.Repeat(" ", 70<<10)))
			default:
				c.Write([]byte(`{"error":"io.systemd.UserDatabase.NoRecordFound","parameters":{}}` + "\x00"))
			}
			c.Close()
		}
	}()
	passwd := filepath.Join(dir, "passwd")
	mk(t, passwd, "root:x:0:0::/root:/bin/sh\nl4d2-static:x:900:901::/:/usr/sbin/nologin\n", 0o644)
	for _, tc := range []struct {
		name     string
		uid, gid int
		err      string
	}{
		{"alpha", 63257, 63257, ""},
		{"static", 900, 901, ""},
		{"bravo", 0, 0, "no such user"},
		{"root", 0, 0, "never run as root"},
		{"huge", 0, 0, "64 KiB"},
	} {
		uid, gid, err := InstanceUser(sock, passwd, tc.name)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %d %d %v; want an error with %q", tc.name, uid, gid, err, tc.err)
			}
			continue
		}
		if err != nil || uid != tc.uid || gid != tc.gid {
			t.Errorf("%s: %d %d %v; want %d %d", tc.name, uid, gid, err, tc.uid, tc.gid)
		}
	}
}
