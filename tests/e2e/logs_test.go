package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// Game logs are bounded (issue 27, item 4): at a start in the upper layer,
// by age and then size, and by left4me-disk.service while the server runs
// (its newest file kept); a link planted among them, and what it points
// to, stay; list and status show what the instance holds.
func TestLogBounds(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error {
			return writeFiles(root, map[string]string{
				"etc/left4me/instances/logs.yaml": "port: 27054\nresources: {log_days: 2, log_size: 1M}\n",
				"etc/left4me/victim.log":          "not the server's\n",
			})
		}})
	const upper = "/var/lib/left4me/runtime/logs/upper/left4dead2"
	const merged = "/var/lib/left4me/runtime/logs/merged/left4dead2"
	exists := func(path string) bool {
		_, err := c.Run(t, "test", "-e", path, "-o", "-L", path)
		return err == nil
	}
	c.MustRun(t, "systemctl", "start", "l4d2@logs.service")
	c.MustRun(t, "systemctl", "stop", "l4d2@logs.service")

	t.Run("at start", func(t *testing.T) {
		c.MustRun(t, "sh", "-ec", `
u=`+upper+`
mkdir -p $u/logs $u/addons/sourcemod/logs
echo old > $u/logs/L0101000.log; touch -d '10 days ago' $u/logs/L0101000.log
head -c 614400 /dev/urandom > $u/logs/L0102000.log; touch -d '1 hour ago' $u/logs/L0102000.log
head -c 614400 /dev/urandom > $u/logs/L0102001.log
echo old > $u/addons/sourcemod/logs/errors_20250101.log; touch -d '9 days ago' $u/addons/sourcemod/logs/errors_20250101.log
echo kept > $u/addons/sourcemod/logs/L20250105.log
touch -d '30 days ago' /etc/left4me/victim.log
ln -s /etc/left4me/victim.log $u/logs/link.log
mkfifo $u/logs/fifo.log
echo notes > $u/logs/notes.txt; touch -d '30 days ago' $u/logs/notes.txt
`)
		c.MustRun(t, "systemctl", "start", "l4d2@logs.service")
		for _, gone := range []string{"logs/L0101000.log", "logs/L0102000.log", "addons/sourcemod/logs/errors_20250101.log"} {
			if exists(upper + "/" + gone) {
				t.Errorf("%s: not pruned at start", gone)
			}
		}
		for _, kept := range []string{"logs/L0102001.log", "addons/sourcemod/logs/L20250105.log", "logs/link.log", "logs/fifo.log", "logs/notes.txt"} {
			if !exists(upper + "/" + kept) {
				t.Errorf("%s: removed at start", kept)
			}
		}
		if got := c.MustRun(t, "cat", "/etc/left4me/victim.log"); got != "not the server's\n" {
			t.Errorf("the link's target: %q", got)
		}
		if j := c.Journal(t, "l4d2@logs.service"); !strings.Contains(j, "logs: removed 3 old log file(s)") {
			t.Errorf("the start does not say what it pruned:\n%s", j)
		}
	})

	t.Run("by the timer while it runs", func(t *testing.T) {
		c.MustRun(t, "sh", "-ec", `
m=`+merged+`
echo old > $m/logs/L0103000.log; touch -d '5 days ago' $m/logs/L0103000.log
head -c 921600 /dev/urandom > $m/logs/L0103001.log; touch -d '1 minute ago' $m/logs/L0103001.log
head -c 921600 /dev/urandom > $m/logs/L0103002.log
`)
		c.MustRun(t, "systemctl", "start", "left4me-disk.service")
		// Oldest first: L0102001 (600K) and L0103001 (900K) go; the newest,
		// being written, stays whatever its size.
		for _, gone := range []string{"L0103000.log", "L0102001.log", "L0103001.log"} {
			if exists(merged + "/logs/" + gone) {
				t.Errorf("%s: not pruned by left4me-disk.service", gone)
			}
		}
		for _, kept := range []string{"logs/L0103002.log", "logs/link.log", "addons/sourcemod/logs/L20250105.log"} {
			if !exists(merged + "/" + kept) {
				t.Errorf("%s: removed by left4me-disk.service", kept)
			}
		}
		if got := c.MustRun(t, "cat", "/etc/left4me/victim.log"); got != "not the server's\n" {
			t.Errorf("the link's target: %q", got)
		}
		if j := c.Journal(t, "left4me-disk.service"); !strings.Contains(j, "logs: removed 3 old log file(s)") {
			t.Errorf("left4me-disk.service does not say what it pruned:\n%s", j)
		}
		if st := unitState(t, c, "logs"); st != "active" {
			t.Errorf("the server is %s after the prune", st)
		}
	})

	t.Run("list and status show the size", func(t *testing.T) {
		var rows []struct {
			Name string `json:"name"`
			Disk *struct {
				Bytes int64 `json:"bytes"`
			} `json:"disk"`
		}
		if err := json.Unmarshal([]byte(c.MustRun(t, "left4me", "list", "--json")), &rows); err != nil {
			t.Fatal(err)
		}
		// At least the kept 900K log; the rest is staged cfgs and dirs.
		if len(rows) != 1 || rows[0].Disk == nil || rows[0].Disk.Bytes < 921600 || rows[0].Disk.Bytes > 4<<20 {
			t.Errorf("list --json: %+v", rows)
		}
		if out := c.MustRun(t, "left4me", "list"); !strings.Contains(out, "DISK") || !regexp.MustCompile(`yes +[0-9.]+ [KM]iB`).MatchString(out) {
			t.Errorf("list:\n%s", out)
		}
		if out := c.MustRun(t, "left4me", "status", "logs"); !strings.Contains(out, "disk:") || !strings.Contains(out, "in its upper layer and crash dumps") {
			t.Errorf("status:\n%s", out)
		}
	})
}
