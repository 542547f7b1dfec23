package commands

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/servers"
	"github.com/left4me/left4me/cmd/left4me/internal/control"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestStatus(t *testing.T) {
	te := newEnv(t)
	p := te.spec(t, "srv1", "port: 27015\nautostart: true\noverlays: [maps]\n")
	te.sd.units["l4d2@srv1.service"] = control.Unit{Name: "l4d2@srv1.service", LoadState: "loaded", ActiveState: "active",
		SubState: "running", Result: "success", MainPID: 4242, NeedReload: true,
		Since: time.Date(2025, 11, 26, 11, 55, 0, 0, time.UTC)}
	te.sd.argv[4242] = te.sd.started("l4d2@srv1.service")
	if err := te.run("status", "srv1"); err != nil {
		t.Fatal(err)
	}
	want := "srv1 - l4d2@srv1.service\n" +
		"  spec:      " + p + " (port 27015 client 28015 tv 29015 steam 30015, autostart yes)\n" +
		"  overlays:  maps\n" +
		"  state:     active (running) since 2025-11-26 11:55:00 UTC; 5m0s ago\n" +
		"  main PID:  4242\n" +
		"  runs on:   127.0.0.1:27015\n" +
		"  players:   2, and 1 bot(s), on c1m1_hotel (left4me players srv1)\n" +
		"  mounted:   no\n" +
		"\nlast log lines:\n  server said goodbye\n"
	if te.out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", te.out, want)
	}
	if !strings.Contains(te.err.String(), "spec changed since systemd last loaded it") {
		t.Errorf("stderr %q", te.err)
	}
	if got := strings.Join(te.journal[0], " "); got != "--unit l4d2@srv1.service --lines 10 --no-pager --quiet" {
		t.Errorf("journalctl %s", got)
	}
}

func TestStatusWithoutSystemd(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: x\n")
	te.noSystemd()
	err := te.run("status", "srv1")
	if fail.Code(err) != fail.CodeNoSystemd {
		t.Fatalf("err %v", err)
	}
	out := te.out.String()
	for _, w := range []string{"problems:  invalid: see `left4me validate srv1`", "state:     unknown", "mounted:   no", "server said goodbye"} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
}

// status and is-active exit like systemctl's: 0 running, 3 not running,
// 4 no such instance; --json has the same facts.
func TestStatusExitCodes(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "up", "port: 27001\n")
	te.spec(t, "down", "port: 27002\n")
	te.sd.set(clienv.UnitOf("up"), "active", "running")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"status", "up"}, 0},
		{[]string{"status", "down"}, fail.CodeNotRunning},
		{[]string{"status", "nope"}, fail.CodeUnknownInstance},
		{[]string{"is-active", "up"}, 0},
		{[]string{"is-active", "-q", "up", "down"}, fail.CodeNotRunning},
		{[]string{"is-active", "nope"}, fail.CodeUnknownInstance},
	} {
		err := te.run(c.args...)
		if fail.Code(err) != c.code {
			t.Errorf("%v: code %d (%v), want %d", c.args, fail.Code(err), err, c.code)
		}
		if c.code == fail.CodeNotRunning && !fail.Silent(err) {
			t.Errorf("%v: a message beside the state: %v", c.args, err)
		}
	}
	if err := te.run("is-active", "up", "down"); te.out.String() != "active\ninactive\n" {
		t.Errorf("is-active printed %q (%v)", te.out, err)
	}
	if err := te.run("is-active", "-q", "up"); err != nil || te.out.Len() != 0 {
		t.Errorf("-q printed %q (%v)", te.out, err)
	}
	err := te.run("status", "down", "--json")
	var st servers.StatusJSON
	if fail.Code(err) != fail.CodeNotRunning || json.Unmarshal(te.out.Bytes(), &st) != nil || st.State != "inactive" || st.Port != 27002 || st.Mounted {
		t.Errorf("--json: %v %+v\n%s", err, st, te.out)
	}
	if err := te.run("status", "up", "-n", "3", "--no-pager"); err != nil || !strings.Contains(strings.Join(te.journal[len(te.journal)-1], " "), "--lines 3") {
		t.Errorf("-n 3: %v %v", err, te.journal)
	}
}

// logs hands journalctl's own options through.
func TestLogsPassThrough(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27001\n")
	if err := te.run("logs", "srv1", "--since", "1 hour ago", "--until", "now", "-o", "cat", "--no-pager", "-n", "5"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.journal[0], "|"); got != "--unit|l4d2@srv1.service|--lines|5|--since|1 hour ago|--until|now|--output|cat|--no-pager" {
		t.Errorf("journalctl %s", got)
	}
}

// players lists who is on, humans and bots counted apart.
func TestPlayers(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\narguments: [-ip, 127.0.0.2]\n")
	te.sd.set(clienv.UnitOf("srv1"), "active", "running")
	var asked []string
	te.ServerInfo = func(_ context.Context, addr string) (a2s.Info, error) {
		asked = append(asked, addr)
		return a2s.Info{Map: "c2m1_highway", Players: 6, Bots: 4, MaxPlayers: 8}, nil
	}
	if err := te.run("players", "srv1"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"srv1 on 127.0.0.2:27015, map c2m1_highway: 2 player(s), 4 bot(s), 8 slots", "Ellis    12     1m1s", "Player1  3      1h0m0s"} {
		if !strings.Contains(te.out.String(), w) {
			t.Errorf("lacks %q:\n%s", w, te.out)
		}
	}
	if len(asked) != 1 || asked[0] != "127.0.0.2:27015" {
		t.Errorf("asked %v", asked)
	}
	if err := te.run("players", "srv1", "--json"); err != nil || !strings.Contains(te.out.String(), `"humans": 2`) || !strings.Contains(te.out.String(), `"name": "Ellis"`) {
		t.Errorf("--json: %v\n%s", err, te.out)
	}
	te.ServerInfo = func(context.Context, string) (a2s.Info, error) { return a2s.Info{}, errors.New("no reply") }
	if err := te.run("players", "srv1"); err == nil || !strings.Contains(err.Error(), "does not answer A2S_INFO on 127.0.0.2:27015") {
		t.Errorf("silent server: %v", err)
	}
	// Hibernating (empty, so silent): its console counts.
	te.ConsoleDir = answeringConsole(t, "srv1", "hostname: srv1\nplayers : 0 humans, 0 bots (8 max) (hibernating)\n")
	te.relayIsUs("srv1")
	te.out.Reset()
	if err := te.run("players", "srv1"); err != nil || !strings.Contains(te.out.String(), "0 player(s), counted by its console") {
		t.Errorf("hibernating server: %v\n%s", err, te.out)
	}
	// Answering with nobody on, reserved by a lobby: only its console
	// says so.
	te.ServerInfo = func(context.Context, string) (a2s.Info, error) {
		return a2s.Info{Map: "c1m1_hotel", MaxPlayers: 8}, nil
	}
	te.ConsoleDir = answeringConsole(t, "srv1", "hostname: srv1\nplayers : 0 humans, 0 bots (8 max) (not hibernating) (reserved 186000047cf0fd8)\n")
	te.out.Reset()
	if err := te.run("players", "srv1"); err != nil || !strings.Contains(te.out.String(), "map c1m1_hotel: 0 player(s), reserved by a lobby (its players may be on their way), 0 bot(s)") {
		t.Errorf("reserved server: %v\n%s", err, te.out)
	}
	te.out.Reset()
	if err := te.run("players", "srv1", "--json"); err != nil || strings.Contains(te.out.String(), `"reserved"`) {
		t.Errorf("reserved server, --json (the console is not asked): %v\n%s", err, te.out)
	}
	te.sd.set(clienv.UnitOf("srv1"), "inactive", "dead")
	if err := te.run("players", "srv1"); fail.Code(err) != fail.CodeNotRunning {
		t.Errorf("stopped server: %v", err)
	}
}

// status names where a server really runs when its spec says otherwise,
// and shows an orphan (spec removed while it runs) instead of "unknown".
func TestStatusRunningAndOrphan(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.sd.set("l4d2@a.service", "active", "running")
	te.spec(t, "a", "port: 27099\n")
	if err := te.run("status", "a", "-n", "0"); err != nil {
		t.Fatal(err)
	}
	if w := "runs on:   127.0.0.1:27001, as started; its spec now says port 27099: `left4me restart a` applies it"; !strings.Contains(te.out.String(), w) {
		t.Errorf("status lacks %q:\n%s", w, te.out)
	}
	te.spec(t, "gone", "port: 27002\n")
	te.sd.set("l4d2@gone.service", "active", "running")
	if err := os.Remove(te.Layout.SpecPath("gone")); err != nil {
		t.Fatal(err)
	}
	if err := te.run("status", "gone", "--json"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"orphaned": true`, `"running_port": 27002`} {
		if !strings.Contains(te.out.String(), w) {
			t.Errorf("status --json lacks %s:\n%s", w, te.out)
		}
	}
	if err := te.run("status", "never"); !errors.Is(err, fail.ErrUnknownInstance) {
		t.Errorf("status of no instance: %v", err)
	}
}

// status shows the spec's schedule and whether its timers run (they run
// only with the server).
func TestStatusSchedule(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27015\nschedule: {restart: \"*-*-* 05:00\", restart_force: false, backup: daily}\n")
	te.sd.set("left4me-restart@srv1.timer", "active", "waiting")
	if err := te.run("status", "srv1"); !errors.Is(err, fail.ErrNotRunning) {
		t.Fatal(err)
	}
	want := `  schedule:  restart "*-*-* 05:00" when empty, within 1h0m0s, then left running until the next one (timer active); backup "daily" (timer inactive)` + "\n"
	if !strings.Contains(te.out.String(), want) {
		t.Errorf("got\n%s\nwant a line\n%s", te.out, want)
	}
	te.out.Reset()
	if err := te.run("status", "--json", "srv1"); !errors.Is(err, fail.ErrNotRunning) {
		t.Fatal(err)
	}
	var st struct {
		Schedule struct {
			Restart      string `json:"restart"`
			RestartTimer string `json:"restart_timer"`
			RestartForce bool   `json:"restart_force"`
			Backup       string `json:"backup"`
			BackupTimer  string `json:"backup_timer"`
		} `json:"schedule"`
	}
	if err := json.Unmarshal(te.out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if s := st.Schedule; s.Restart != "*-*-* 05:00" || s.RestartForce || s.RestartTimer != "active" || s.Backup != "daily" || s.BackupTimer != "inactive" {
		t.Errorf("--json schedule %+v\n%s", s, te.out)
	}
	te.out.Reset()
	te.spec(t, "srv2", "port: 27115\n")
	if err := te.run("status", "srv2"); !errors.Is(err, fail.ErrNotRunning) || strings.Contains(te.out.String(), "schedule:") {
		t.Errorf("no schedule, yet: %v\n%s", err, te.out)
	}
}

// The disk row says the ceiling, and in words what a server over it
// means: left4me-disk stopped it and its start is refused.
func TestStatusDisk(t *testing.T) {
	for _, tc := range []struct {
		name, spec, usage string
		want              []string
		over              bool
	}{
		{"under", "port: 27015\nresources: {disk: 64M}\n", "8192 1764158400\n", []string{"disk:      8.0 KiB of 64.0 MiB in its upper layer and crash dumps (measured 2025-11-26 12:00:00 UTC)"}, false},
		{"over", "port: 27015\nresources: {disk: 64M}\n", "83886080 1764158400\n", []string{"80.0 MiB in its upper layer and crash dumps, more than its ceiling of 64.0 MiB", "its start is refused", "left4me reset srv1"}, true},
		{"limits' ceiling", "port: 27015\n", "8192 1764158400\n", []string{"8.0 KiB of 20.0 GiB"}, false},
		{"never measured", "port: 27015\n", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "srv1", tc.spec)
			te.sd.set(clienv.UnitOf("srv1"), "inactive", "dead")
			if tc.usage != "" {
				mkdirs(t, te.Layout.RuntimeDir("srv1"))
				writeFile(t, filepath.Join(te.Layout.RuntimeDir("srv1"), "usage"), tc.usage)
			}
			_ = te.run("status", "srv1", "-n", "0")
			for _, w := range tc.want {
				if !strings.Contains(te.out.String(), w) {
					t.Errorf("no %q in\n%s", w, te.out)
				}
			}
			if tc.usage == "" && strings.Contains(te.out.String(), "disk:") {
				t.Errorf("a disk row without a measure:\n%s", te.out)
			}
			te.out.Reset()
			_ = te.run("status", "srv1", "--json")
			var st struct {
				Disk *struct {
					Ceiling int64 `json:"ceiling"`
					Over    bool  `json:"over"`
				} `json:"disk"`
			}
			if err := json.Unmarshal(te.out.Bytes(), &st); err != nil {
				t.Fatal(err)
			}
			if (st.Disk == nil) != (tc.usage == "") || st.Disk != nil && (st.Disk.Over != tc.over || st.Disk.Ceiling == 0) {
				t.Errorf("json disk %+v", st.Disk)
			}
		})
	}
}

// As list: a server whose relay says its console said it hibernates has
// nobody on it, answer or not; an answer with someone on says it woke.
func TestStatusHibernating(t *testing.T) {
	for _, tc := range []struct {
		name string
		info a2s.Info
		err  error
		row  string
		hib  bool
	}{
		{"silent", a2s.Info{}, errors.New("i/o timeout"), "  players:   0: it hibernates, as its console said (the engine hibernates only with nobody on)\n", true},
		{"woke", a2s.Info{Players: 3, Bots: 1, Map: "c1m1_hotel"}, nil, "  players:   2, and 1 bot(s), on c1m1_hotel (left4me players s)\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.spec(t, "s", "port: 27015\n")
			te.sd.units["l4d2@s.service"] = control.Unit{Name: "l4d2@s.service", LoadState: "loaded", ActiveState: "active",
				SubState: "running", Result: "success", MainPID: 4242, Status: probe.HibernatingStatus("")}
			te.sd.argv[4242] = te.sd.started("l4d2@s.service")
			te.ServerInfo = func(context.Context, string) (a2s.Info, error) { return tc.info, tc.err }
			if err := te.run("status", "s"); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(te.out.String(), tc.row) {
				t.Errorf("lacks %q:\n%s", tc.row, te.out)
			}
			if err := te.run("status", "s", "--json"); err != nil {
				t.Fatal(err)
			}
			var st servers.StatusJSON
			if err := json.Unmarshal(te.out.Bytes(), &st); err != nil {
				t.Fatalf("%v\n%s", err, te.out)
			}
			if st.Hibernating != tc.hib || st.Humans == nil || *st.Humans != max(int(tc.info.Players)-int(tc.info.Bots), 0) {
				t.Errorf("--json: hibernating %v, humans %v\n%s", st.Hibernating, st.Humans, te.out)
			}
		})
	}
}
