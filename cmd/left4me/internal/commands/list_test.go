package commands

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

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
	if err := te.run("list"); err != nil {
		t.Fatal(err)
	}
	// alpha runs and answers 3 players, 1 of them a bot (newEnv's stub).
	want := "NAME   PORTS                    AUTOSTART  STATE     PLAYERS  BOTS  MOUNTED  OVERLAYS\n" +
		"alpha  27015/28015/29015/30015  yes        active    2        1     no       comp=c,maps\n" +
		"beta   27016/28016/-/30016      no         inactive  -        -     no       -\n" +
		"gamma  -                        -          failed    -        -     no       invalid spec: see `left4me validate gamma`\n"
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
	var rows []row
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
	if a.Port != 27015 || !a.Autostart || len(a.Overlays) != 2 || a.Overlays[0] != (overlay{Path: "comp", Alias: "c"}) || a.Error != "" {
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
	for _, w := range []string{"loaded  27001/28001/29001/30001 ", "edited  27012/28012/29012/30012*", "new     27003/28003/29003/30003*", "* spec changed since systemd last loaded it"} {
		if !strings.Contains(out, w) {
			t.Errorf("list lacks %q:\n%s", w, out)
		}
	}
	if err := te.run("list", "--json"); err != nil || !strings.Contains(te.out.String(), `"stale": true`) {
		t.Errorf("--json: %v\n%s", err, te.out)
	}
}
