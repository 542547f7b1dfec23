package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/servers"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/startplan"
)

func listFixture(t *testing.T) *tenv {
	te := newEnv(t)
	te.spec(t, "alpha", "port: 27015\nautostart: true\noverlays: [{path: comp, alias: c}, maps]\n")
	te.spec(t, "beta", "port: 27016\nports: {tv: off}\n")
	te.spec(t, "gamma", "port: nope\n")
	return te
}

func TestList(t *testing.T) {
	te := listFixture(t)
	te.sd.set("l4d2@alpha.service", "active", "running")
	te.sd.set("l4d2@gamma.service", "failed", "failed")
	// What alpha's last start or left4me-disk.timer measured; beta's
	// record is not root's (runtime/NAME is): not believed.
	for name, uid := range map[string]int{"alpha": 0, "beta": 1000} {
		rec := filepath.Join(te.Layout.RuntimeDir(name), "usage")
		if err := os.MkdirAll(filepath.Dir(rec), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(rec, []byte("1572864 1767323045\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(rec, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	if err := te.run("list"); err != nil {
		t.Fatal(err)
	}
	// alpha runs and answers 3 players, 1 of them a bot (newEnv's stub).
	want := "NAME   PORTS                    AUTOSTART  STATE     PLAYERS  BOTS  MOUNTED  DISK     OVERLAYS\n" +
		"alpha  27015/28015/29015/30015  yes        active    2        1     no       1.5 MiB  comp=c,maps\n" +
		"beta   27016/28016/-/30016      no         inactive  -        -     no       -        -\n" +
		"gamma  -                        -          failed    -        -     no       -        invalid spec: see `left4me validate gamma`\n"
	if te.out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", te.out, want)
	}
	if te.sd.closed != 1 {
		t.Errorf("connection closed %d times", te.sd.closed)
	}
}

func TestListWithoutSystemd(t *testing.T) {
	te := listFixture(t)
	te.noSystemd()
	if err := te.run("list", "--json"); err != nil {
		t.Fatal(err)
	}
	var rows []servers.Row
	if err := json.Unmarshal(te.out.Bytes(), &rows); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	if len(rows) != 3 {
		t.Fatalf("%+v", rows)
	}
	for _, r := range rows {
		if r.State != "unknown" {
			t.Errorf("%s: state %q", r.Name, r.State)
		}
	}
	a := rows[0]
	if a.Port != 27015 || !a.Autostart || len(a.Overlays) != 2 || a.Overlays[0] != (servers.Overlay{Path: "comp", Alias: "c"}) || a.Error != "" {
		t.Errorf("alpha %+v", a)
	}
	if rows[2].Error == "" || !strings.Contains(rows[2].Error, "gamma.yaml:1:7: port") {
		t.Errorf("gamma %+v", rows[2])
	}
	if !strings.Contains(te.err.String(), "note: unit states are unknown: systemd not reachable") {
		t.Errorf("stderr %q", te.err)
	}
}

func TestListColour(t *testing.T) {
	te := listFixture(t)
	te.Color = true
	te.sd.set("l4d2@alpha.service", "active", "running")
	if err := te.run("list"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.out.String(), "\x1b[32mactive\x1b[0m") {
		t.Fatalf("no colour: %q", te.out)
	}
	te.Color = false
	te.run("list")
	if strings.Contains(te.out.String(), "\x1b[") {
		t.Fatalf("colour without a terminal: %q", te.out)
	}
}

func TestListEmpty(t *testing.T) {
	te := newEnv(t)
	if err := te.run("list"); err != nil || !strings.Contains(te.out.String(), "no instances in") {
		t.Fatalf("%v %q", err, te.out)
	}
}

// A spec changed since the last daemon-reload is marked: its port and the
// rest are not in effect yet.
func TestListMarksStale(t *testing.T) {
	te := newEnv(t)
	te.PlanDir = t.TempDir()
	for name, body := range map[string]string{"loaded": "port: 27001\n", "edited": "port: 27002\n"} {
		s, err := spec.Parse(name+".yaml", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		te.spec(t, name, body)
		p := startplan.Path(te.PlanDir, name)
		mkdirs(t, filepath.Dir(p))
		writeFile(t, p, string(startplan.Encode(s.StartPlan())))
	}
	te.spec(t, "edited", "port: 27012\n")
	te.spec(t, "new", "port: 27003\n")
	if err := te.run("list"); err != nil {
		t.Fatal(err)
	}
	out := te.out.String()
	for _, w := range []string{"loaded  27001/28001/29001/30001 ", "edited  27012/28012/29012/30012*", "new     27003/28003/29003/30003*", "* edited: spec changed since systemd last loaded it"} {
		if !strings.Contains(out, w) {
			t.Errorf("list lacks %q:\n%s", w, out)
		}
	}
	if err := te.run("list", "--json"); err != nil || !strings.Contains(te.out.String(), `"stale": true`) {
		t.Errorf("--json: %v\n%s", err, te.out)
	}
}

// A running server shows the port it answers on, as started, marked when
// its spec now says another: also after a reload, when nothing is stale.
func TestListShowsWhereItRuns(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "b", "port: 27002\n")
	te.sd.set("l4d2@a.service", "active", "running")
	te.sd.set("l4d2@b.service", "active", "running")
	te.spec(t, "a", "port: 27099\n")
	var mu sync.Mutex // list asks the servers at once
	var asked []string
	te.ServerInfo = func(_ context.Context, addr string) (a2s.Info, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, addr)
		return a2s.Info{Players: 1}, nil
	}
	if err := te.run("list"); err != nil {
		t.Fatal(err)
	}
	out := te.out.String()
	for _, w := range []string{"a     27001/28001/29001/30001*", "b     27002/28002/29002/30002 ", "* a: runs on ports 27001/28001/29001/30001, as started; its spec now says 27099/28099/29099/30099: `left4me restart a` applies it"} {
		if !strings.Contains(out, w) {
			t.Errorf("list lacks %q:\n%s", w, out)
		}
	}
	sort.Strings(asked)
	if strings.Join(asked, ",") != "127.0.0.1:27001,127.0.0.1:27002" {
		t.Errorf("players asked at %v", asked)
	}
	if err := te.run("list", "--json"); err != nil || !strings.Contains(te.out.String(), `"running_port": 27001`) || !strings.Contains(te.out.String(), `"outdated": true`) {
		t.Errorf("--json: %v\n%s", err, te.out)
	}
}

// A server whose relay says its console said it hibernates has nobody on
// it: list shows 0 players and 0 bots and says it hibernates, though it
// answers no query; a server silent for another reason stays unknown
// ("-"), and an answer with someone on wins over a status line not yet
// updated since it woke.
func TestListHibernating(t *testing.T) {
	asleep := probe.HibernatingStatus("frames running")
	silent := errors.New("i/o timeout")
	for _, tc := range []struct {
		name   string
		state  string // the unit's ActiveState; its main process runs
		status string // the relay's status line
		info   a2s.Info
		err    error  // of A2S_INFO
		row    string // its fields, one space apart
		humans *int
		hib    bool
	}{
		{"hibernating, silent", "active", asleep, a2s.Info{}, silent, "s 27001/28001/29001/30001 no active, hibernating 0 0 no - -", ptr(0), true},
		{"hibernating, answering with nobody on", "active", asleep, a2s.Info{MaxPlayers: 8}, nil, "s 27001/28001/29001/30001 no active, hibernating 0 0 no - -", ptr(0), true},
		{"woke: an answer counts", "active", asleep, a2s.Info{Players: 3, Bots: 1}, nil, "s 27001/28001/29001/30001 no active 2 1 no - -", ptr(2), false},
		{"silent, not known to hibernate", "active", "alive (frames running), not answering A2S_INFO", a2s.Info{}, silent, "s 27001/28001/29001/30001 no active - - no - -", nil, false},
		{"silent, no status line", "active", "", a2s.Info{}, silent, "s 27001/28001/29001/30001 no active - - no - -", nil, false},
		{"stopping", "deactivating", asleep, a2s.Info{}, silent, "s 27001/28001/29001/30001 no deactivating - - no - -", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "s", "port: 27001\n")
			te.sd.set("l4d2@s.service", "active", "running")
			u := te.sd.units["l4d2@s.service"]
			u.ActiveState, u.Status = tc.state, tc.status
			te.sd.units["l4d2@s.service"] = u
			te.ServerInfo = func(context.Context, string) (a2s.Info, error) { return tc.info, tc.err }
			if err := te.run("list"); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(te.out.String(), "\n")
			if len(lines) < 2 || strings.Join(strings.Fields(lines[1]), " ") != tc.row {
				t.Errorf("list's row is not %q:\n%s", tc.row, te.out)
			}
			if err := te.run("list", "--json"); err != nil {
				t.Fatal(err)
			}
			var rows []servers.Row
			if err := json.Unmarshal(te.out.Bytes(), &rows); err != nil || len(rows) != 1 {
				t.Fatalf("%v\n%s", err, te.out)
			}
			r := rows[0]
			if r.Hibernating != tc.hib || (r.Humans == nil) != (tc.humans == nil) || r.Humans != nil && *r.Humans != *tc.humans {
				t.Errorf("--json: hibernating %v, humans %v; want %v, %v\n%s", r.Hibernating, r.Humans, tc.hib, tc.humans, te.out)
			}
		})
	}
}

func ptr(n int) *int { return &n }

// A server whose spec was removed by hand while it ran is listed as
// orphaned, and stop (by name or --all) stops it.
func TestOrphans(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "gone", "port: 27002\n")
	te.sd.set("l4d2@a.service", "active", "running")
	te.sd.set("l4d2@gone.service", "active", "running")
	if err := os.Remove(te.Layout.SpecPath("gone")); err != nil {
		t.Fatal(err)
	}
	if err := te.run("list"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"gone  27002/28002/29002/30002!  -          active", "orphaned: no spec", "! gone: its spec is gone but its server still runs (or failed); `left4me stop gone` stops it"} {
		if !strings.Contains(te.out.String(), w) {
			t.Errorf("list lacks %q:\n%s", w, te.out)
		}
	}
	if err := te.run("restart", "gone"); !errors.Is(err, fail.ErrUnknownInstance) {
		t.Errorf("restart of an orphan: %v", err)
	}
	if err := te.run("stop", "gone"); err != nil {
		t.Fatal(err)
	}
	te.sd.set("l4d2@gone.service", "active", "running")
	if err := te.run("stop", "--all"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.sd.calls, ","); !strings.Contains(got, "stop l4d2@gone.service,units,stop l4d2@a.service,stop l4d2@gone.service") {
		t.Errorf("calls %s", got)
	}
}

// Instances are listed as people count them: s2 before s10.
func TestListOrder(t *testing.T) {
	te := newEnv(t)
	te.noSystemd()
	for i, n := range []string{"s10", "s2", "s1", "s11", "s3"} {
		te.spec(t, n, fmt.Sprintf("port: %d\n", 27015+10*i))
	}
	if err := te.run("list", "--json"); err != nil {
		t.Fatal(err)
	}
	var rows []servers.Row
	if err := json.Unmarshal(te.out.Bytes(), &rows); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Name)
	}
	if strings.Join(got, " ") != "s1 s2 s3 s10 s11" {
		t.Errorf("listed %v", got)
	}
}

// TestListSpecModeNote: list notes (stderr) a spec that holds a password
// and that every user can read; the table is as before.
func TestListSpecModeNote(t *testing.T) {
	cases := []struct {
		name string
		body string
		mode os.FileMode
		note bool
	}{
		{"0644 with rcon_password", "port: 27001\nconfig: ['rcon_password x']\n", 0o644, true},
		{"0640 with rcon_password", "port: 27001\nconfig: ['rcon_password x']\n", 0o640, false},
		{"0644 without a password", "port: 27001\n", 0o644, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			p := te.spec(t, "srv4", c.body)
			if err := os.Chmod(p, c.mode); err != nil {
				t.Fatal(err)
			}
			if err := te.run("list"); err != nil {
				t.Fatal(err)
			}
			want := "note: warning: " + p + ": mode 0644: every local user can read it"
			if got := strings.Contains(te.err.String(), want); got != c.note {
				t.Errorf("note %v, want %v:\n%s", got, c.note, te.err)
			}
			if !strings.Contains(te.out.String(), "srv4") {
				t.Errorf("table lacks srv4:\n%s", te.out)
			}
		})
	}
}
