package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Day-2 operations (issue 27) on real systemd: backups of what a server
// wrote, taken while it runs, restored through the restart's rollout.
func TestBackups(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	// The server has 3 players (the stand-in reads standin.env).
	if err := writeFiles(state, map[string]string{"overlays/busy/left4dead2/cfg/standin.env": "STANDIN_PLAYERS=3\n"}); err != nil {
		t.Fatal(err)
	}
	c := bootStoreHost(t, state, map[string]string{
		"etc/left4me/instances/srv.yaml": "port: 27061\noverlays: [busy]\n",
	})
	const merged = "/var/lib/left4me/runtime/srv/merged/left4dead2"
	const db = merged + "/addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3"
	backups := filepath.Join(c.State, "backups", "srv")
	ids := func(t *testing.T) []string {
		t.Helper()
		var out []string
		ents, _ := os.ReadDir(backups)
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out
	}
	c.MustRun(t, "left4me", "start", "srv")
	// What the server writes goes through the overlay into its upper layer.
	c.MustRun(t, "sh", "-c", "mkdir -p "+filepath.Dir(db)+" && printf 'SQLite format 3 first' >"+db+
		" && ln -s /etc/shadow "+merged+"/shadow && mkdir -p "+merged+"/logs")

	t.Run("backup while the server runs and writes its log", func(t *testing.T) {
		c.MustRun(t, "systemd-run", "--unit=appender", "sh", "-c", "while :; do echo L line >>"+merged+"/logs/L1205000.log; done")
		defer c.Run(t, "systemctl", "stop", "appender")
		out := c.MustRun(t, "left4me", "backup", "srv")
		if !strings.Contains(out, "srv: backup ") {
			t.Fatalf("backup:\n%s", out)
		}
		got := ids(t)
		if len(got) != 1 || !strings.HasSuffix(got[0], ".tar.gz") {
			t.Fatalf("backups: %v", got)
		}
		path := "/var/lib/left4me/backups/srv/" + got[0]
		if st := c.MustRun(t, "stat", "-c", "%a %U", path, "/var/lib/left4me/backups/srv"); st != "600 root\n700 root\n" {
			t.Errorf("modes and owners:\n%s", st)
		}
		list := c.MustRun(t, "tar", "-tvzf", path)
		if !strings.Contains(list, "left4dead2/shadow -> /etc/shadow") || !strings.Contains(list, "clientprefs-sqlite.sq3") ||
			!strings.Contains(list, "left4dead2/logs/L1205000.log") || strings.Contains(list, "who.txt") {
			t.Errorf("archive holds:\n%s", list)
		}
		if s := c.MustRun(t, "sh", "-c", "tar -xzOf "+path+" left4dead2/shadow | wc -c"); strings.TrimSpace(s) != "0" {
			t.Errorf("the link's target was read: %s bytes", s)
		}
		if out := c.MustRun(t, "left4me", "backups", "srv"); !strings.Contains(out, strings.TrimSuffix(got[0], ".tar.gz")) {
			t.Errorf("backups:\n%s", out)
		}
	})

	t.Run("a file that never stops changing fails the backup, naming it", func(t *testing.T) {
		// Rewritten in place without pause: no copy of its 8 MiB can
		// find it the same before and after. (A small file rewritten now
		// and then is copied whole between two writes, which is fine.)
		c.MustRun(t, "systemd-run", "--unit=rewriter", "sh", "-c",
			"while :; do dd if=/dev/urandom of="+merged+"/churn.txt bs=1M count=8 conv=notrunc status=none; done")
		c.WaitFor(t, "the rewriter's file", 10*time.Second, func() bool {
			_, err := c.Run(t, "test", "-s", merged+"/churn.txt")
			return err == nil
		})
		out, err := c.Run(t, "left4me", "backup", "srv")
		c.Run(t, "systemctl", "stop", "rewriter")
		if err == nil || !strings.Contains(err.Error(), "upper/left4dead2/churn.txt: changed while it was copied") {
			t.Errorf("backup of a churning file: %v\n%s", err, out)
		}
		for _, n := range ids(t) {
			if !strings.HasSuffix(n, ".tar.gz") || strings.HasPrefix(n, ".") {
				t.Errorf("left behind in %s: %s", backups, n)
			}
		}
		c.MustRun(t, "rm", "-f", merged+"/churn.txt")
	})

	t.Run("restore of a running server: when empty waits, else stopped, put back, started", func(t *testing.T) {
		c.MustRun(t, "sh", "-c", "printf 'SQLite format 3 second' >"+db)
		pid := mainPID(t, c, "srv")
		out, err := c.Run(t, "left4me", "restore", "srv", "--yes", "--when-empty", "--deadline", "0")
		if err == nil || !strings.Contains(err.Error(), "left running: srv") {
			t.Errorf("restore --when-empty of an occupied server: %v\n%s", err, out)
		}
		if mainPID(t, c, "srv") != pid || c.MustRun(t, "cat", db) != "SQLite format 3 second" {
			t.Fatalf("the occupied server was touched")
		}
		out = c.MustRun(t, "left4me", "restore", "srv", "--yes")
		if !strings.Contains(out, "srv: restored backup") || !strings.Contains(out, "(before restore)") {
			t.Errorf("restore:\n%s", out)
		}
		if got := c.MustRun(t, "cat", db); got != "SQLite format 3 first" {
			t.Errorf("after the restore the server sees %q", got)
		}
		if mainPID(t, c, "srv") == pid {
			t.Errorf("not restarted")
		}
		query(t, c, 27061)
		if n := len(ids(t)); n != 2 {
			t.Errorf("%d backups, want the first and the one before the restore", n)
		}
	})

	t.Run("reset backs up first; restore brings the data back", func(t *testing.T) {
		out := c.MustRun(t, "left4me", "reset", "srv", "--yes")
		if !strings.Contains(out, "(before reset)") {
			t.Errorf("reset:\n%s", out)
		}
		if _, err := c.Run(t, "test", "-e", db); err == nil {
			t.Fatalf("reset kept the database")
		}
		c.MustRun(t, "left4me", "restore", "srv", "--yes", "--no-backup")
		if got := c.MustRun(t, "cat", db); got != "SQLite format 3 first" {
			t.Errorf("after reset and restore: %q", got)
		}
		query(t, c, 27061)
		c.MustRun(t, "left4me", "reset", "srv", "--yes", "--no-backup")
		if n := len(ids(t)); n != 3 {
			t.Errorf("%d backups, want 3 (--no-backup takes none)", n)
		}
	})

	t.Run("retention by count", func(t *testing.T) {
		c.MustRun(t, "left4me", "backup", "srv", "--keep", "1")
		if n := len(ids(t)); n != 1 {
			t.Errorf("%d backups after --keep 1: %v", n, ids(t))
		}
	})
}
