package commands

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/servers"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// fleetSSH stands in for ssh: each host answers what its file in the
// script's directory holds (HOST.out, HOST.exit), "down" is not reached,
// and the remote command is recorded.
const fleetSSH = `#!/bin/sh
d=$(dirname "$0")
while [ "$1" != "--" ]; do shift; done
host=$2; shift 2
echo "$host $*" >>"$d/calls"
case $host in down) echo "ssh: connect to host down port 22: No route to host" >&2; exit 255;; flood) exec yes '[';; esac
cat "$d/$host.out"
if [ -f "$d/$host.err" ]; then cat "$d/$host.err" >&2; fi
exit $(cat "$d/$host.exit" 2>/dev/null || echo 0)
`

func fleetEnv(t *testing.T, answers map[string]string) *tenv {
	t.Helper()
	te := newEnv(t)
	dir := t.TempDir()
	te.SSH = filepath.Join(dir, "ssh")
	writeFile(t, te.SSH, fleetSSH)
	os.Chmod(te.SSH, 0o755)
	for f, body := range answers {
		writeFile(t, filepath.Join(dir, f), body)
	}
	return te
}

func TestFleetList(t *testing.T) {
	te := fleetEnv(t, map[string]string{
		"eu.out":    `[{"name":"srv1","file":"/etc/left4me/instances/srv1.yaml","port":27015,"autostart":true,"state":"active","mounted":true,"disk":{"bytes":1572864,"measured_at":"2026-01-02T03:04:05Z"},"humans":2,"bots":1,"overlays":[{"path":"comp","alias":"c"}]},{"name":"srv2","file":"f","port":27016,"state":"active","mounted":true,"humans":0,"bots":0,"hibernating":true,"overlays":[]}]`,
		"na.out":    `[{"name":"srv1","file":"f","port":27015,"state":"inactive","stale":true,"overlays":[]},{"name":"evil\u001b[2J","file":"f","port":27016,"state":"active","overlays":[]}]`,
		"empty.out": `[]`,
		"old.out":   "", "old.err": "left4me: unknown flag --json\n", "old.exit": "2",
	})
	err := te.run("list", "--host", "eu", "--host", "down", "--host", "na", "--host", "empty", "--host", "old")
	if !errors.Is(err, fail.ErrHosts) || fail.Code(err) != fail.CodeFailure || !strings.Contains(err.Error(), "(unreachable: down; answered with an error: old)") {
		t.Errorf("err %v", err)
	}
	// eu's srv2 hibernates: nobody on it, as its host says.
	want := "HOST   NAME         PORTS   AUTOSTART  STATE                PLAYERS  BOTS  MOUNTED  DISK     OVERLAYS\n" +
		"eu     srv1         27015   yes        active               2        1     yes      1.5 MiB  comp=c\n" +
		"eu     srv2         27016   no         active, hibernating  0        0     yes      -        -\n" +
		"down   -            -       -          unreachable          -        -     -        -        ssh: connect to host down port 22: No route to host\n" +
		"na     srv1         27015*  no         inactive             -        -     no       -        -\n" +
		"na     evil\\x1b[2J  27016   no         active               -        -     no       -        -\n" +
		"empty  -            -       -          -                    -        -     -        -        no instances\n" +
		"old    -            -       -          error                -        -     -        -        left4me: unknown flag --json\n" +
		"* na: srv1: spec changed since systemd last loaded it: not in effect until `systemctl daemon-reload` (left4me start/restart reload by themselves)\n"
	if te.out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", te.out, want)
	}
	calls, _ := os.ReadFile(filepath.Join(filepath.Dir(te.SSH), "calls"))
	if !strings.Contains(string(calls), "eu left4me list --json\n") {
		t.Errorf("remote commands:\n%s", calls)
	}

	if err := te.run("list", "--host", "eu", "--host", "down", "--json"); !errors.Is(err, fail.ErrHosts) {
		t.Errorf("--json err %v", err)
	}
	var as []servers.HostAnswer
	if err := json.Unmarshal(te.out.Bytes(), &as); err != nil || len(as) != 2 {
		t.Fatalf("%v\n%s", err, te.out)
	}
	if as[0].Host != "eu" || !strings.Contains(string(as[0].Result), `"srv1"`) || as[1].Unreachable == "" || as[1].Result != nil {
		t.Errorf("%+v", as)
	}

	if err := te.run("list", "--host", "eu", "--host", "na"); err != nil {
		t.Errorf("every host answered: %v", err)
	}
}

func TestFleetStatus(t *testing.T) {
	cases := []struct {
		name    string
		answers map[string]string
		hosts   []string
		want    []string
		code    int
	}{
		{"running everywhere", map[string]string{
			"eu.out": `{"name":"srv1","port":27015,"state":"active","since":"2026-01-02T03:04:05Z","humans":0,"bots":0,"mounted":true,"overlays":[]}`,
			"na.out": `{"name":"srv1","port":27015,"autostart":true,"state":"active","mounted":true,"overlays":[]}`,
		}, []string{"eu", "na"}, []string{"eu    srv1  27015  no         active  0        0     yes      2026-01-02 03:04:05 UTC", "na    srv1  27015  yes        active"}, 0},
		// A hibernating server answers no query: its host's status says
		// so (0 players); so does what a restore cut short left there.
		{"hibernating on one, a restore left on the other", map[string]string{
			"eu.out": `{"name":"srv1","port":27015,"state":"active","humans":0,"bots":0,"hibernating":true,"mounted":true,"overlays":[]}`,
			"na.out": `{"name":"srv1","port":27015,"state":"active","restore_left":"/var/lib/left4me/runtime/srv1/upper.restore: part of backup X","mounted":true,"overlays":[]}`,
		}, []string{"eu", "na"}, []string{"eu    srv1  27015  no         active, hibernating  0        0     yes", "na    srv1  27015  no         active, ~restore"}, 0},
		{"stopped on one", map[string]string{
			"eu.out": `{"name":"srv1","port":27015,"state":"active","mounted":true,"overlays":[]}`,
			"na.out": `{"name":"srv1","port":27015,"state":"inactive","overlays":[]}`, "na.exit": "3",
		}, []string{"eu", "na"}, []string{"na    srv1  27015  no         inactive"}, fail.CodeNotRunning},
		{"unknown on one, one down", map[string]string{
			"eu.out": `{"name":"srv1","port":27015,"state":"inactive","overlays":[]}`, "eu.exit": "3",
			"na.out": "", "na.err": "left4me: unknown instance \"srv1\": there is no /etc/left4me/instances/srv1.yaml\n", "na.exit": "4",
		}, []string{"eu", "na", "down"}, []string{"na    -     -      -          error        -        -     -        left4me: unknown instance", "down  -     -      -          unreachable"}, fail.CodeFailure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te := fleetEnv(t, c.answers)
			args := []string{"status", "srv1"}
			for _, h := range c.hosts {
				args = append(args, "--host", h)
			}
			err := te.run(args...)
			if fail.Code(err) != c.code {
				t.Errorf("exit %d (%v), want %d", fail.Code(err), err, c.code)
			}
			for _, w := range c.want {
				if !strings.Contains(te.out.String(), w) {
					t.Errorf("lacks %q:\n%s", w, te.out)
				}
			}
		})
	}
	te := fleetEnv(t, nil)
	if err := te.run("status", "../x", "--host", "eu"); fail.Code(err) != fail.CodeUsage {
		t.Errorf("bad name: %v", err)
	}
}

func TestFleetPlayers(t *testing.T) {
	te := fleetEnv(t, map[string]string{
		"eu.out": `{"instance":"srv1","address":"127.0.0.1:27015","map":"c1m1_hotel","humans":1,"bots":1,"max_players":8,"players":[{"name":"Ellis","score":3,"seconds":65},{"name":"Bot\r\nforged","score":0,"seconds":1}]}`,
		"na.out": `{"instance":"srv1","address":"127.0.0.1:27015","map":"c2m1_highway","humans":0,"bots":0,"max_players":8,"players":[]}`,
	})
	err := te.run("players", "srv1", "--host", "eu", "--host", "na", "--host", "down")
	if !errors.Is(err, fail.ErrHosts) {
		t.Errorf("err %v", err)
	}
	want := "HOST  MAP           PLAYERS  BOTS  SLOTS  NAME           SCORE  TIME\n" +
		"eu    c1m1_hotel    1        1     8      Ellis          3      1m5s\n" +
		"eu    c1m1_hotel    1        1     8      Bot\\r\\nforged  0      1s\n" +
		"na    c2m1_highway  0        0     8      -              -      -\n" +
		"down  unreachable   -        -     -      -              -      ssh: connect to host down port 22: No route to host\n"
	if te.out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", te.out, want)
	}
}

// A host that answers without end is cut off at fleet.MaxAnswer and shown
// as such; the others are shown all the same (issue 26, item 7).
func TestFleetAnswerTooLarge(t *testing.T) {
	te := fleetEnv(t, map[string]string{"eu.out": `[{"name":"srv1","file":"f","port":27015,"state":"active","overlays":[]}]`})
	err := te.run("list", "--host", "flood", "--host", "eu")
	if !errors.Is(err, fail.ErrHosts) || !strings.Contains(err.Error(), "flood") {
		t.Errorf("err %v", err)
	}
	out := te.out.String()
	if !strings.Contains(out, "answer too large") || !strings.Contains(out, "its answer passed 4 MiB; cut off there and ignored") || !strings.Contains(out, "eu     srv1") {
		t.Errorf("table:\n%s", out)
	}
	if err := te.run("list", "--host", "flood", "--json"); !errors.Is(err, fail.ErrHosts) {
		t.Errorf("--json err %v", err)
	}
	var as []servers.HostAnswer
	if err := json.Unmarshal(te.out.Bytes(), &as); err != nil || len(as) != 1 || !as[0].TooLarge || as[0].Result != nil {
		t.Errorf("%v %+v", err, as)
	}
}

// A failed server another host retries says when, as list does at home.
func TestFleetListRetry(t *testing.T) {
	te := fleetEnv(t, map[string]string{
		"eu.out": `[{"name":"srv1","file":"f","port":27015,"state":"failed","retry_at":"2025-11-26T12:03:00Z","overlays":[]}]`,
	})
	if err := te.run("list", "--host", "eu"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.out.String(), "failed, retry in 3m0s") {
		t.Errorf("got\n%s", te.out)
	}
}
