package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// What a real competitive server needs from the unit (issue: the real
// server with SourceMod works under the unit), driven through the
// stand-in's srcds_run/srcds_linux pair.
var serverSpecs = map[string]string{
	// SourceMod from a root-owned overlay writes logs, data and cfgs and
	// rewrites a cfg the overlay shipped.
	"etc/left4me/instances/sm.yaml":  "port: 27030\noverlays: [sourcemod]\n",
	"etc/left4me/instances/sm2.yaml": "port: 27031\noverlays: [sourcemod]\n",
	// A cold start longer than hang_timeout, shorter than start_timeout.
	"etc/left4me/instances/cold.yaml": "port: 27032\nstart_timeout: 60\nhang_timeout: 10\noverlays: [cold]\n",
	// Arguments srcds_run would split and glob.
	"etc/left4me/instances/words.yaml": `port: 27033
arguments: ["+hostname", "Tom's server", "+sv_tags", "a*", "-tickrate", "100"]
`,
	// A server bound to one address, with bots and no humans.
	"etc/left4me/instances/bound.yaml": "port: 27034\narguments: [-ip, 127.0.0.2]\noverlays: [bots]\n",
	// Its port is taken by another server before it starts.
	"etc/left4me/instances/squat.yaml": "port: 27035\n",
	// Prints a line every second, as a live server logs events.
	"etc/left4me/instances/live.yaml": "port: 27038\noverlays: [ticker]\n",
}

var serverState = map[string]string{
	"overlays/sourcemod/left4dead2/addons/metamod.vdf":                     "\"Plugin\" { \"file\" \"../left4dead2/addons/metamod/bin/server\" }\n",
	"overlays/sourcemod/left4dead2/addons/sourcemod/logs/.keep":            "",
	"overlays/sourcemod/left4dead2/addons/sourcemod/data/sqlite/.keep":     "",
	"overlays/sourcemod/left4dead2/addons/sourcemod/plugins/readyup.smx":   "smx",
	"overlays/sourcemod/left4dead2/addons/sourcemod/plugins/l4d2_tank.smx": "smx",
	"overlays/sourcemod/left4dead2/cfg/sourcemod/sourcemod.cfg":            "sm_show_activity 13\n",
	"overlays/sourcemod/left4dead2/cfg/banned_user.cfg":                    "banid 0 STEAM_1:0:1\n",
	"overlays/sourcemod/left4dead2/maps/c5m1_waterfront.bsp":               "map",
	"overlays/cold/left4dead2/cfg/standin.env":                             "STANDIN_START_DELAY=20s\n",
	"overlays/bots/left4dead2/cfg/standin.env":                             "STANDIN_BOTS=4\n",
	"overlays/ticker/left4dead2/cfg/standin.env":                           "STANDIN_TICK=1s\n",
	"installation/left4dead2/maps/c1m1_hotel.bsp":                          "map",
	"installation/left4dead2/aaa.txt":                                      "glob me",
}

// owner is a file's uid and gid.
func owner(fi fs.FileInfo) [2]uint32 {
	st := fi.Sys().(*syscall.Stat_t)
	return [2]uint32{st.Uid, st.Gid}
}

// treeSum is a digest of every entry below dir: path, mode, owner,
// modification time and bytes.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %v %d\n", p, fi.Mode(), owner(fi), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestRealServer(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, serverState); err != nil {
		t.Fatal(err)
	}
	layers := treeSum(t, filepath.Join(state, "overlays")) + treeSum(t, filepath.Join(state, "installation"))
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, serverSpecs) }})

	t.Run("SourceMod writes below directories of a root-owned overlay", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@sm.service", "l4d2@sm2.service")
		r := readReport(t, state, "sm")
		if len(r.WriteErrors) > 0 {
			t.Errorf("the server could not write: %q\njournal:\n%s", r.WriteErrors, c.Journal(t, "l4d2@sm.service"))
		}
		upper := filepath.Join(state, "runtime/sm/upper/left4dead2")
		uid := strconv.Itoa(r.UID) // l4d2-sm, its own dynamic user
		for _, rel := range []string{
			"addons/sourcemod/logs/L" + time.Now().UTC().Format("20060102") + ".log",
			"addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3",
			"cfg/sourcemod/plugin.readyup.cfg", "cfg/sourcemod/plugin.l4d2_tank.cfg",
			"cfg/banned_user.cfg",
		} {
			fi, err := os.Lstat(filepath.Join(upper, rel))
			if err != nil {
				t.Errorf("%s is not in the upper layer: %v", rel, err)
				continue
			}
			if fmt.Sprint(owner(fi)[0]) != uid || uid == "0" {
				t.Errorf("%s belongs to %v, not the server's user (%s)", rel, owner(fi), uid)
			}
		}
		// Rename and delete, as the server's user, in the merged tree as
		// its sandbox shows it (runtime/sm itself is root's alone).
		m := "/var/lib/left4me/runtime/sm/merged/left4dead2"
		c.MustRun(t, "nsenter", "-t", strconv.Itoa(r.PID), "-m", "setpriv", "--reuid="+uid, "--regid="+uid, "--clear-groups", "sh", "-euc",
			"mv "+m+"/maps/c5m1_waterfront.bsp "+m+"/maps/renamed.bsp && rm "+m+"/cfg/sourcemod/sourcemod.cfg && mkdir "+m+"/downloads")
		if _, err := os.Stat(filepath.Join(upper, "maps/renamed.bsp")); err != nil {
			t.Errorf("rename did not land in the upper layer: %v", err)
		}
		// The layers are untouched and sm2 sees none of it.
		if got := treeSum(t, filepath.Join(state, "overlays")) + treeSum(t, filepath.Join(state, "installation")); got != layers {
			t.Error("the overlay or the installation changed")
		}
		m2 := "/var/lib/left4me/runtime/sm2/merged/left4dead2/"
		if out := c.MustRun(t, "cat", m2+"cfg/sourcemod/sourcemod.cfg", m2+"maps/c5m1_waterfront.bsp"); out != "sm_show_activity 13\nmap" {
			t.Errorf("sm2 sees %q", out)
		}
		if out, err := c.Run(t, "ls", m2+"downloads"); err == nil {
			t.Errorf("sm2 sees sm's downloads/: %s", out)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@sm.service", "l4d2@sm2.service")
	})

	t.Run("a cold start longer than hang_timeout is not killed by the watchdog", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@cold.service") // returns once it answers
		if st := unitState(t, c, "cold"); st != "active" {
			t.Fatalf("cold is %s", st)
		}
		j := c.Journal(t, "l4d2@cold.service")
		if strings.Contains(j, "Watchdog timeout") || !strings.Contains(j, `answers A2S_INFO on 127.0.0.1:27032 after 2`) {
			t.Errorf("journal:\n%s", j)
		}
		// Still up and fed by the watcher past another hang_timeout.
		time.Sleep(12 * time.Second)
		show := c.MustRun(t, "systemctl", "show", "-P", "NRestarts", "-P", "ActiveState", "l4d2@cold.service")
		if f := strings.Fields(show); len(f) != 2 || f[0] != "0" || f[1] != "active" {
			t.Errorf("NRestarts, ActiveState = %q", show)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@cold.service")
	})

	t.Run("the engine gets the spec's arguments as exactly those argv items", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@words.service")
		r := readReport(t, state, "words")
		want := []string{"/var/lib/left4me/runtime/words/merged/srcds_linux", "-game", "left4dead2", "-strictportbind",
			"-port", "27033", "+clientport", "28033", "+tv_port", "29033", "-steamport", "30032", "+hostname", "Tom's server", "+sv_tags", "a*", "-tickrate", "100", "+map", "c1m1_hotel"}
		if fmt.Sprintf("%q", r.Argv) != fmt.Sprintf("%q", want) {
			t.Errorf("argv %q\nwant %q", r.Argv, want)
		}
		if info := query(t, c, 27033); info.Name != "Tom's server" {
			t.Errorf("hostname %q", info.Name)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@words.service")
	})

	t.Run("a server bound to -ip is probed there; bots are no players", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@bound.service")
		if j := c.Journal(t, "l4d2@bound.service"); !strings.Contains(j, "answers A2S_INFO on 127.0.0.2:27034") {
			t.Errorf("journal:\n%s", j)
		}
		var info a2s.Info
		var err error
		c.Netns(t, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			info, err = a2s.Query(ctx, "127.0.0.2:27034")
		})
		if err != nil || info.Bots != 4 || info.Players != 4 {
			t.Errorf("A2S_INFO on 127.0.0.2: %+v %v", info, err)
		}
		// players asks the server where it listens; bots count apart.
		if out := c.MustRun(t, "left4me", "players", "bound"); !strings.Contains(out, "bound on 127.0.0.2:27034, map c1m1_hotel: 0 player(s), 4 bot(s)") ||
			!strings.Contains(out, "Coach") {
			t.Errorf("players:\n%s", out)
		}
		old := mainPID(t, c, "bound")
		out := c.MustRun(t, "left4me", "restart", "--when-empty", "--deadline", "5s", "bound")
		if !strings.Contains(out, "bound: restarted") || mainPID(t, c, "bound") == old {
			t.Errorf("a server with only bots was not restarted at once:\n%s", out)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@bound.service")
	})

	t.Run("a busy port fails the start instead of moving the server", func(t *testing.T) {
		// Another server (not ours) answers A2S on the port already.
		c.MustRun(t, "systemd-run", "--unit=squatter", "-p", "User=left4me", "-p", "WorkingDirectory=/var/lib/left4me/installation",
			"/var/lib/left4me/installation/srcds_run", "-norestart", "-port", "27035", "+hostname", "squatter")
		// Its output is a pipe, so fully buffered: ask it, not the journal.
		c.WaitFor(t, "the squatter to answer", 30*time.Second, func() bool {
			var err error
			c.Netns(t, func() {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				_, err = a2s.Query(ctx, "127.0.0.1:27035")
			})
			return err == nil
		})
		// The start fails, naming the port, and the server never listens
		// elsewhere: the relay finds the answers on 27035 are not its
		// engine's (or the engine quits first, -strictportbind honoured),
		// and an engine that ignores -strictportbind (CS:GO's branch;
		// L4D2 likely too), which moves to the next port without a word,
		// is never reported ready on the squatter's answers.
		for _, mode := range []string{"source2013", "csgo"} {
			c.MustRun(t, "mkdir", "-p", "/run/systemd/system/l4d2@squat.service.d")
			c.MustRun(t, "sh", "-c", "printf '[Service]\\nEnvironment=STANDIN_NET="+mode+"\\n' >/run/systemd/system/l4d2@squat.service.d/net.conf && systemctl daemon-reload")
			if out, err := c.Run(t, "systemctl", "start", "l4d2@squat.service"); err == nil {
				t.Errorf("%s: started on another process's port:\n%s\n%s", mode, out, c.Journal(t, "l4d2@squat.service"))
			}
			// This start's lines: the relay may stop the engine before it
			// says how it opens its sockets.
			j := c.Journal(t, "l4d2@squat.service")
			if i := strings.LastIndex(j, "Starting l4d2@squat.service"); i >= 0 {
				j = j[i:]
			}
			// The squatter is named by its uid (left4me's, a system user).
			if !regexp.MustCompile("port 27035 is taken by another process \\(uid [0-9]+; `getent passwd [0-9]+` names it\\): what answers on 127.0.0.1:27035 is not this server").MatchString(j) &&
				!strings.Contains(j, `ERROR: Port 27035 was unavailable - quitting due to "-strictportbind" command-line flag!`) {
				t.Errorf("%s: journal:\n%s", mode, j)
			}
			if mode == "source2013" && strings.Contains(j, "bound to port 27036 instead") {
				t.Errorf("the server moved to another port:\n%s", j)
			}
			if st := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "MainPID", "l4d2@squat.service")); st != "0" {
				if out, _ := c.Run(t, "ss", "-lunp"); strings.Contains(out, "pid="+st+",") {
					t.Errorf("%s: the server listens somewhere:\n%s", mode, out)
				}
			}
			c.MustRun(t, "systemctl", "stop", "l4d2@squat.service", "left4me-retry@squat.service")
			_, _ = c.Run(t, "systemctl", "reset-failed", "l4d2@squat.service")
		}
		c.MustRun(t, "sh", "-c", "rm -r /run/systemd/system/l4d2@squat.service.d && systemctl daemon-reload")
		c.MustRun(t, "systemctl", "stop", "squatter.service", "l4d2@squat.service")
		_, _ = c.Run(t, "systemctl", "reset-failed", "l4d2@squat.service")
	})

	t.Run("a squatter on the RCON port fails the start", func(t *testing.T) {
		// Another user listens on TCP 27035 first: the engine cannot,
		// warns and runs on, and RCON clients (and their rcon_password)
		// would reach the squatter. The relay refuses to call it ready.
		c.MustRun(t, "systemd-run", "--unit=rconsquatter", "-p", "User=nobody", "python3", "-c",
			`import socket, time; s = socket.socket(); s.bind(("0.0.0.0", 27035)); s.listen(); time.sleep(600)`)
		c.WaitFor(t, "the RCON squatter to listen", 30*time.Second, func() bool {
			out, _ := c.Run(t, "ss", "-ltn", "sport = :27035")
			return strings.Contains(out, "LISTEN")
		})
		if out, err := c.Run(t, "systemctl", "start", "l4d2@squat.service"); err == nil {
			t.Errorf("started beside a squatter on its RCON port:\n%s\n%s", out, c.Journal(t, "l4d2@squat.service"))
		}
		j := c.Journal(t, "l4d2@squat.service")
		if !strings.Contains(j, "TCP port 27035 (RCON) is taken by another process (uid 65534; `getent passwd 65534` names it)") || !strings.Contains(j, "Socket bind failed: Address already in use.") {
			t.Errorf("journal:\n%s", j)
		}
		c.MustRun(t, "systemctl", "stop", "rconsquatter.service", "l4d2@squat.service", "left4me-retry@squat.service")
		_, _ = c.Run(t, "systemctl", "reset-failed", "l4d2@squat.service")
		// Without it the server starts.
		c.MustRun(t, "systemctl", "start", "l4d2@squat.service")
		c.MustRun(t, "systemctl", "stop", "l4d2@squat.service")
	})

	t.Run("a squatter on the client port fails the start", func(t *testing.T) {
		// squat's client port by the default rule (port + 1000). An
		// engine that ignores -strictportbind moves its client socket to
		// the next free port without a word; the relay says whose it was.
		c.MustRun(t, "systemd-run", "--unit=clientsquatter", "-p", "User=nobody", "python3", "-c",
			`import socket, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 28035)); time.sleep(600)`)
		c.WaitFor(t, "the client port squatter", 30*time.Second, func() bool {
			out, _ := c.Run(t, "ss", "-lun", "sport = :28035")
			return strings.Contains(out, ":28035")
		})
		c.MustRun(t, "mkdir", "-p", "/run/systemd/system/l4d2@squat.service.d")
		c.MustRun(t, "sh", "-c", "printf '[Service]\nEnvironment=STANDIN_NET=csgo\n' >/run/systemd/system/l4d2@squat.service.d/net.conf && systemctl daemon-reload")
		if out, err := c.Run(t, "systemctl", "start", "l4d2@squat.service"); err == nil {
			t.Errorf("started beside a squatter on its client port:\n%s\n%s", out, c.Journal(t, "l4d2@squat.service"))
		}
		if j := c.Journal(t, "l4d2@squat.service"); !strings.Contains(j, "client port 28035 is taken by another process (uid 65534; `getent passwd 65534` names it)") {
			t.Errorf("journal:\n%s", j)
		}
		c.MustRun(t, "sh", "-c", "rm -r /run/systemd/system/l4d2@squat.service.d && systemctl daemon-reload")
		c.MustRun(t, "systemctl", "stop", "clientsquatter.service", "l4d2@squat.service", "left4me-retry@squat.service")
		_, _ = c.Run(t, "systemctl", "reset-failed", "l4d2@squat.service")
	})

	t.Run("arguments the launcher owns are refused with the reason", func(t *testing.T) {
		bad := filepath.Join(c.Root, "etc/left4me/instances/moved.yaml")
		if err := os.WriteFile(bad, []byte("port: 27036\narguments: [+hostport, \"27037\"]\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := c.Run(t, "left4me", "validate", "moved")
		if err == nil || !strings.Contains(out, "/etc/left4me/instances/moved.yaml:2:13: arguments[0]: +hostport is set by left4me") {
			t.Errorf("validate: %v\n%s", err, out)
		}
		c.MustRun(t, "systemctl", "daemon-reload")
		if out, _ := c.Run(t, "systemctl", "cat", "l4d2@moved.service"); strings.Contains(out, "50-left4me-spec.conf") {
			t.Errorf("a unit was generated for a spec with +hostport:\n%s", out)
		}
		os.Remove(bad)
	})

	t.Run("each line the server prints is in the journal within a second, the last one too", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@live.service")
		var r liveReport
		c.WaitFor(t, "three ticks", 20*time.Second, func() bool { r = readLive(t, state); return r.Ticks >= 3 })
		printed := r.at
		line := fmt.Sprintf("standin: tick %d", r.Ticks)
		var logged time.Time
		c.WaitFor(t, line+" in the journal", 5*time.Second, func() bool { logged = journalTime(t, c, "l4d2@live.service", line); return !logged.IsZero() })
		// The report is written just after the line was printed.
		if d := logged.Sub(printed); d > time.Second || d < -time.Second {
			t.Errorf("%q reached the journal %v after it was printed", line, d)
		}
		// kill -9 right after a line: it is in the journal all the same.
		r = readLive(t, state)
		c.MustRun(t, "kill", "-9", strconv.Itoa(r.PID))
		last := fmt.Sprintf("standin: tick %d", r.Ticks)
		c.WaitFor(t, last+" after the kill", 5*time.Second, func() bool { return !journalTime(t, c, "l4d2@live.service", last).IsZero() })
		c.MustRun(t, "systemctl", "stop", "l4d2@live.service")
	})
	t.Run("send and console: commands into the server's console, for admins only", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@words.service")
		out := c.MustRun(t, "left4me", "send", "words", "status")
		for _, w := range []string{"hostname: Tom's server", "map     : c1m1_hotel", "players : 0 humans, 0 bots (8 max)"} {
			if !strings.Contains(out, w) {
				t.Errorf("send status lacks %q:\n%s", w, out)
			}
		}
		if out := c.MustRun(t, "left4me", "send", "words", "say", "map change soon"); !strings.Contains(out, "Console: map change soon") {
			t.Errorf("send say:\n%s", out)
		}
		if !strings.Contains(c.Journal(t, "l4d2@words.service"), "Console: map change soon") {
			t.Error("the console's output is not in the journal")
		}
		// One command never becomes two.
		if out, err := c.Run(t, "left4me", "send", "words", "status\nquit"); err == nil || !strings.Contains(errText(err), "control character") {
			t.Errorf("a newline in a command: %v\n%s", err, out)
		}
		// Not root, not in left4me-admin: refused; in it: allowed.
		c.MustRun(t, "useradd", "-M", "-G", "left4me-admin", "op")
		if _, err := c.Run(t, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "left4me", "send", "words", "status"); err == nil ||
			!strings.Contains(errText(err), "for root and members of left4me-admin only") {
			t.Errorf("nobody: %v", err)
		}
		if out := c.MustRun(t, "setpriv", "--reuid=op", "--regid=op", "--init-groups", "left4me", "send", "words", "status"); !strings.Contains(out, "hostname: Tom's server") {
			t.Errorf("an admin:\n%s", out)
		}
		// console: attach, type, detach; the server keeps running.
		out = c.MustRun(t, "sh", "-c", "printf 'say attached\\n' | left4me console words 2>&1")
		if !strings.Contains(out, "Console: attached") || !strings.Contains(out, "detached from words") {
			t.Errorf("console:\n%s", out)
		}
		if st := unitState(t, c, "words"); st != "active" {
			t.Errorf("words is %s after a console detached", st)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@words.service")
	})
	t.Run("crash dumps survive a stop; 16384 descriptors; no specs in sight", func(t *testing.T) {
		c.MustRun(t, "systemctl", "start", "l4d2@words.service")
		pid := mainPID(t, c, "words")
		uid := strings.TrimSpace(c.MustRun(t, "stat", "-c", "%u", "/proc/"+pid)) // its dynamic user
		c.MustRun(t, "nsenter", "-t", pid, "-m", "--", "setpriv", "--reuid="+uid, "--regid="+uid, "--clear-groups", "sh", "-c", "echo dump > /tmp/dumps/crash.mdmp")
		// The specs (RCON passwords of every instance) are out of sight.
		if out, err := c.Run(t, "nsenter", "-t", pid, "-m", "--", "ls", "/etc/left4me/instances"); err == nil {
			t.Errorf("the server can list the specs: %s", out)
		}
		if lim := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "LimitNOFILESoft", "l4d2@words.service")); lim != "16384" {
			t.Errorf("LimitNOFILESoft=%s", lim)
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@words.service")
		if b, err := os.ReadFile(filepath.Join(state, "runtime/words/dumps/crash.mdmp")); err != nil || string(b) != "dump\n" {
			t.Errorf("minidump after stop: %q %v", b, err)
		}
	})
}

// liveReport is what the ticking stand-in reported, and when.
type liveReport struct {
	PID   int `json:"pid"`
	Ticks int `json:"ticks"`
	at    time.Time
}

func readLive(t *testing.T, state string) liveReport {
	t.Helper()
	p := filepath.Join(state, "runtime/live/upper/left4dead2/standin-report.json")
	var r liveReport
	fi, err := os.Stat(p)
	if err != nil {
		return r
	}
	b, _ := os.ReadFile(p)
	_ = json.Unmarshal(b, &r)
	r.at = fi.ModTime()
	return r
}

// journalTime is when the journal received the unit's line msg, zero if
// it has not.
func journalTime(t *testing.T, c *Container, unit, msg string) time.Time {
	t.Helper()
	out, _ := c.Run(t, "journalctl", "-u", unit, "-o", "json", "--no-pager")
	for _, l := range strings.Split(out, "\n") {
		var e struct {
			Msg string `json:"MESSAGE"`
			TS  string `json:"__REALTIME_TIMESTAMP"`
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Msg == msg {
			us, _ := strconv.ParseInt(e.TS, 10, 64)
			return time.UnixMicro(us)
		}
	}
	return time.Time{}
}
