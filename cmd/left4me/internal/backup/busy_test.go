package backup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sqliteWriter is a script committing to a WAL-mode database, pausing
// argv[2] seconds after each commit (0.1: what the operator review saw of
// SourceMod's clientprefs on a busy server; 0: flat out), after making it
// 18 MiB.
const sqliteWriter = `
import sqlite3, sys, os, time
pause = float(sys.argv[2])
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)")
db.execute("BEGIN")
for i in range(4600):
    db.execute("INSERT INTO t (v) VALUES (?)", (os.urandom(4000),))
db.execute("COMMIT")
open(sys.argv[1] + ".ready", "w").close()
i = 0
while True:
    i += 1
    db.execute("BEGIN")
    db.execute("UPDATE t SET v = ? WHERE k = ?", (os.urandom(4000), 1 + i % 4600))
    db.execute("INSERT INTO t (v) VALUES (?)", (os.urandom(100),))
    db.execute("COMMIT")
    time.sleep(pause)
`

// A server keeps writing while it is backed up: a SQLite database in WAL
// mode taking commits and a SourceTV demo being recorded. At 10 commits a
// second every backup succeeds (the database's group is copied again
// between two commits); flat out, a backup may fail, saying so. Either
// way, each backup made restores a database SQLite finds whole, and the
// demo as a prefix of what it became: a database and its log are never
// taken from two moments (a torn WAL was once accepted, and one restore
// in five was "malformed").
func TestBusyServer(t *testing.T) {
	for _, tc := range []struct {
		name, pause string
		backups     int
		allMade     bool
	}{
		{"10 commits a second", "0.1", 5, true},
		{"flat out", "0", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) { busyServer(t, tc.pause, tc.backups, tc.allMade) })
	}
}

func busyServer(t *testing.T, pause string, backups int, allMade bool) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("needs python3 (sqlite3)")
	}
	runtime, up := bare(t)
	dir := filepath.Join(up, "left4dead2/addons/sourcemod/data/sqlite")
	must(t, os.MkdirAll(dir, 0o755))
	db := filepath.Join(dir, "clientprefs.sq3")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "-c", sqliteWriter, db, pause)
	must(t, cmd.Start())
	wg.Add(1)
	go func() { defer wg.Done(); cmd.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(db + ".ready"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the database was not made")
		}
	}
	demo := filepath.Join(up, "left4dead2/auto0001-c1m1_hotel.dem")
	write(t, demo, "HL2DEMO\x00")
	wg.Add(1)
	go func() { // tv_autorecord: a frame every millisecond
		defer wg.Done()
		f, err := os.OpenFile(demo, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		for i := 0; ctx.Err() == nil; i++ {
			f.Write(bytes.Repeat([]byte{byte(i)}, 1500))
			time.Sleep(time.Millisecond)
		}
	}()
	into := filepath.Join(t.TempDir(), "b")
	var made []Result
	for i := range backups {
		r, err := Create(runtime, into, t0.Add(time.Duration(i)*time.Second), Options{})
		if err != nil {
			if allMade || !errors.Is(err, ErrChanged) {
				t.Fatalf("backup %d: %v", i+1, err)
			}
			t.Logf("backup %d: %v", i+1, err)
			continue
		}
		t.Logf("backup %d: %d tries, %d groups copied again", i+1, r.Tries, r.Retries)
		made = append(made, r)
	}
	cancel()
	wg.Wait()
	final, err := os.ReadFile(demo)
	must(t, err)
	for i, r := range made {
		rt, rup := bare(t)
		must(t, Restore(context.Background(), rt, r.Info, RestoreOptions{}))
		got, err := os.ReadFile(filepath.Join(rup, "left4dead2/auto0001-c1m1_hotel.dem"))
		must(t, err)
		if len(got) < 8 || !bytes.HasPrefix(final, got) {
			t.Errorf("backup %d: the demo (%d bytes) is not a prefix of what it became", i+1, len(got))
		}
		out, err := exec.Command(python, "-c", `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("PRAGMA integrity_check").fetchone()[0], db.execute("SELECT count(*) FROM t").fetchone()[0])
`, filepath.Join(rup, "left4dead2/addons/sourcemod/data/sqlite/clientprefs.sq3")).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "ok ") {
			t.Errorf("backup %d: the database: %s %v", i+1, out, err)
		}
	}
}
