package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// floodBytes is what alpha prints at once: eight times its log budget's burst.
const floodBytes = 8 << 20

// Servers of one host are isolated from each other (issue 26, item 1): a
// hostile server (a plugin can be one) cannot read another's staged
// server.cfg with its rcon_password, write into its tree, signal or trace
// it, or reach its runtime directory; and the staged secrets are not
// readable by local users either (item 5). Nor can it flood the journal
// that holds the other servers' logs.
func TestIsolation(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	if err := writeFiles(state, map[string]string{"overlays/attacker/left4dead2/cfg/.keep": ""}); err != nil {
		t.Fatal(err)
	}
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error {
			return writeFiles(root, map[string]string{
				"etc/left4me/instances/alpha.yaml": "port: 27050\noverlays: [attacker]\nconfig: ['rcon_password alpha-secret']\n",
				"etc/left4me/instances/bravo.yaml": "port: 27051\nconfig: ['rcon_password bravo-secret']\n",
			})
		}})
	const (
		bravoRun = "/var/lib/left4me/runtime/bravo"
		bravoCfg = bravoRun + "/merged/left4dead2/cfg/server.cfg"
	)
	c.MustRun(t, "systemctl", "start", "l4d2@bravo.service")
	bravo := readReport(t, state, "bravo")
	relay := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "MainPID", "l4d2@bravo.service"))
	// A daemon of the host's with an abstract unix socket: abstract names
	// belong to the network namespace, which every server shares with
	// the host (they need its ports).
	const daemon = "@left4me-e2e-daemon"
	var listener net.Listener
	c.Netns(t, func() {
		var err error
		if listener, err = net.Listen("unix", daemon); err != nil {
			t.Fatal(err)
		}
	})
	defer listener.Close()
	go func() {
		for {
			conn, err := listener.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	// The attacker's targets, in its overlay: bravo's engine and relay,
	// its staged cfg and its trees as the host sees them.
	targets := strings.Join([]string{
		"pid " + strconv.Itoa(bravo.PID), "pid " + relay,
		"read " + bravoCfg, "read " + bravoRun + "/upper/left4dead2/cfg/server.cfg",
		"write " + bravoRun + "/merged/left4dead2/addons/evil.smx", "write " + bravoRun + "/upper/left4dead2/evil.smx",
		"list " + bravoRun,
		// Past the relay, straight to journald (/dev/log points there).
		"journal /run/systemd/journal/socket", "journal /run/systemd/journal/stdout", "journal /dev/log",
		// To PID 1, which would log each refused message.
		"notify /run/systemd/notify 3000",
		// The system bus, where a login held open is logged and blocks
		// others; and kernel core dumps, outside its disk ceiling.
		"connect /run/dbus/system_bus_socket", "core",
		// A disk ceiling passed at once, and the way around the refusal.
		"fallocate /var/tmp/big 1048576", "io_uring",
		// Bravo's console, whose relay each connection costs CPU.
		"connect /run/left4me/console/bravo/console.sock",
		// Its own relay, whose socket count and console a SIGSTOP would
		// end; the host daemon's abstract socket.
		"signal-relay", "connect " + daemon,
		"flood " + strconv.Itoa(floodBytes),
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(state, "overlays/attacker/left4dead2/cfg/standin_attack"), []byte(targets), 0o644); err != nil {
		t.Fatal(err)
	}
	alphaStart := time.Now()
	c.MustRun(t, "systemctl", "start", "l4d2@alpha.service")
	alpha := readReport(t, state, "alpha")

	t.Run("each server has a uid of its own", func(t *testing.T) {
		if alpha.UID == bravo.UID || alpha.UID == 0 || bravo.UID == 0 {
			t.Fatalf("alpha runs as uid %d, bravo as %d", alpha.UID, bravo.UID)
		}
		// And IPC of its own (PrivateIPC=): the host's System V and
		// message queue limits are shared by all.
		ipc := func(pid int) string {
			return strings.TrimSpace(c.MustRun(t, "readlink", "/proc/"+strconv.Itoa(pid)+"/ns/ipc"))
		}
		if a, b, host := ipc(alpha.PID), ipc(bravo.PID), ipc(1); a == b || a == host || b == host {
			t.Errorf("IPC namespaces: alpha %s, bravo %s, PID 1 %s", a, b, host)
		}
		for name, uid := range map[string]int{"alpha": alpha.UID, "bravo": bravo.UID} {
			for _, p := range []string{"upper", "upper/left4dead2/cfg/server.cfg", "dumps"} {
				fi, err := os.Lstat(filepath.Join(state, "runtime", name, p))
				if err != nil || owner(fi)[0] != uint32(uid) {
					t.Errorf("%s/%s: %v, want owned by its server's uid %d", name, p, err, uid)
				}
			}
		}
	})

	t.Run("alpha attacks bravo and fails at everything", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(state, "runtime/alpha/upper/left4dead2/standin-attack.json"))
		if err != nil {
			t.Fatalf("no attack report: %v\njournal:\n%s", err, c.Journal(t, "l4d2@alpha.service"))
		}
		var attempts []struct {
			What string `json:"what"`
			OK   bool   `json:"ok"`
			Err  string `json:"err"`
		}
		if err := json.Unmarshal(b, &attempts); err != nil {
			t.Fatal(err)
		}
		if len(attempts) < 20 {
			t.Fatalf("only %d attempts: %s", len(attempts), b)
		}
		// Refused by the sandbox, not failed for another reason (a full
		// disk, a kernel without io_uring): fallocate as on a filesystem
		// without it, so that glibc's posix_fallocate writes instead.
		refusal := map[string]string{"fallocate 1048576 bytes in /var/tmp/big": "operation not supported", "set up an io_uring": "operation not permitted"}
		// Refused by the relay's Landlock domain, where the kernel has
		// scopes (Linux 6.12); the relay says so where it has none.
		scoped := landlockABI() >= 6
		if scoped {
			if !strings.Contains(c.Journal(t, "l4d2@alpha.service"), "left4me-relay: landlock: the server can neither signal its relay nor reach abstract unix sockets outside it") {
				t.Errorf("the relay did not say alpha runs scoped")
			}
			refusal["signal its relay"] = "operation not permitted"
			refusal["signal each thread of its relay"] = "operation not permitted"
			refusal["connect to "+daemon] = "dial unix " + daemon + ": connect: operation not permitted"
		} else if !strings.Contains(c.Journal(t, "l4d2@alpha.service"), "the server can signal its relay and reach abstract unix sockets outside it") {
			t.Errorf("the relay did not say alpha runs unscoped")
		}
		for _, a := range attempts {
			if !scoped && (strings.HasPrefix(a.What, "signal its relay") || a.What == "signal each thread of its relay" || a.What == "connect to "+daemon) {
				t.Logf("allowed on this kernel: %s", a.What)
				delete(refusal, a.What)
				continue
			}
			if a.OK {
				t.Errorf("alpha could %s", a.What)
			} else {
				t.Logf("refused: %s: %s", a.What, a.Err)
			}
			if want, ok := refusal[a.What]; ok && a.Err != want {
				t.Errorf("%s: %q, want %q", a.What, a.Err, want)
			}
			delete(refusal, a.What)
		}
		if len(refusal) > 0 {
			t.Errorf("not tried: %v", refusal)
		}
		for _, p := range []string{"upper/left4dead2/addons/evil.smx", "upper/left4dead2/evil.smx"} {
			if _, err := os.Lstat(filepath.Join(state, "runtime/bravo", p)); !os.IsNotExist(err) {
				t.Errorf("alpha wrote bravo's %s: %v", p, err)
			}
		}
		if st := unitState(t, c, "bravo"); st != "active" {
			t.Errorf("bravo is %s after the attack, want active", st)
		}
	})

	t.Run("alpha cannot make PID 1 log for it", func(t *testing.T) {
		// PID 1 refuses a notification from a process other than the
		// relay and logs a warning for each (no rate limit of its own).
		c.MustRun(t, "journalctl", "--sync")
		out := c.MustRun(t, "journalctl", "--no-pager", "-o", "cat", "_PID=1", "UNIT=l4d2@alpha.service")
		if n := strings.Count(out, "Got notification message"); n > 0 {
			t.Errorf("PID 1 logged %d refused notifications of alpha's", n)
		}
		// The relay still reaches systemd: alpha became ready (above) and
		// its status is the relay's.
		if st := c.MustRun(t, "systemctl", "show", "-P", "StatusText", "l4d2@alpha.service"); !strings.Contains(st, "A2S_INFO") {
			t.Errorf("alpha's status: %q", st)
		}
	})

	t.Run("staged secrets are not readable by a local user", func(t *testing.T) {
		nobody := []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}
		for _, p := range []string{bravoCfg, bravoRun + "/upper/left4dead2/cfg/server.cfg",
			"/proc/" + strconv.Itoa(bravo.PID) + "/cwd/left4dead2/cfg/server.cfg"} {
			out, err := c.Run(t, append(nobody, "cat", p)...)
			if err == nil || strings.Contains(out, "bravo-secret") {
				t.Errorf("user nobody read %s: %q", p, out)
			}
		}
		if out, err := c.Run(t, append(nobody, "ls", bravoRun)...); err == nil {
			t.Errorf("user nobody lists %s: %q", bravoRun, out)
		}
		// Root still reads it: the operator's tools keep working.
		if out := c.MustRun(t, "cat", bravoCfg); !strings.Contains(out, "rcon_password bravo-secret") {
			t.Errorf("bravo's server.cfg: %q", out)
		}
	})

	t.Run("alpha's flood of output is bounded and cannot bypass the relay", func(t *testing.T) {
		flooded := func() (journal string, passed int) {
			journal = c.Journal(t, "l4d2@alpha.service")
			for _, l := range strings.Split(journal, "\n") {
				if strings.HasPrefix(l, "standin: flood ") {
					passed += len(l) + 1
				}
			}
			return journal, passed
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@alpha.service") // the relay reports what it dropped
		up := time.Since(alphaStart)
		journal, passed := flooded()
		t.Logf("%d bytes of the %d-byte flood reached the journal in %v", passed, floodBytes, up)
		// The default budget: 1 MiB at once, then 16 KiB a second.
		most := 1<<20 + int(up.Seconds()+1)*16<<10
		if passed < 256<<10 || passed > most {
			t.Errorf("%d bytes of alpha's %d-byte flood reached the journal in %v, want at least 256 KiB and at most %d", passed, floodBytes, up, most)
		}
		// A budget of its own, in a drop-in as README shows: 4 MiB at once.
		c.MustRun(t, "sh", "-c", `mkdir -p /etc/systemd/system/l4d2@alpha.service.d && printf '[Service]\nEnvironment=LEFT4ME_LOG_BUDGET="64K 4M"\n' >/etc/systemd/system/l4d2@alpha.service.d/log.conf && systemctl daemon-reload`)
		start := time.Now()
		c.MustRun(t, "systemctl", "start", "l4d2@alpha.service")
		c.MustRun(t, "systemctl", "stop", "l4d2@alpha.service")
		up = time.Since(start)
		_, again := flooded()
		again -= passed
		if most := 4<<20 + int(up.Seconds()+1)*64<<10; again < 2<<20 || again > most {
			t.Errorf("with LEFT4ME_LOG_BUDGET=\"64K 4M\", %d bytes of the flood reached the journal in %v, want at least 2 MiB and at most %d", again, up, most)
		}
		// A typo there costs the default budget, said, not the server.
		c.MustRun(t, "sh", "-c", `printf '[Service]\nEnvironment=LEFT4ME_LOG_BUDGET="64x 4M"\n' >/etc/systemd/system/l4d2@alpha.service.d/log.conf && systemctl daemon-reload`)
		c.MustRun(t, "systemctl", "start", "l4d2@alpha.service")
		if j := c.Journal(t, "l4d2@alpha.service"); !strings.Contains(j, `LEFT4ME_LOG_BUDGET="64x 4M": "64x" is not a size such as 64K or 4M; the default budget applies`) {
			t.Errorf("a bad budget is not said")
		}
		c.MustRun(t, "systemctl", "stop", "l4d2@alpha.service")
		c.MustRun(t, "sh", "-c", "rm -r /etc/systemd/system/l4d2@alpha.service.d && systemctl daemon-reload")
		for _, want := range []string{"the server prints more than its log budget", "of the server's output were dropped over its log budget"} {
			if !strings.Contains(journal, want) {
				t.Errorf("alpha's journal lacks %q", want)
			}
		}
		// journalctl --grep exits 1 when nothing matches.
		if all, _ := c.Run(t, "journalctl", "--no-pager", "-o", "cat", "--grep", "logged past the relay"); strings.Contains(all, "logged past the relay") {
			t.Errorf("alpha logged to journald past its relay:\n%s", all)
		}
		c.MustRun(t, "systemctl", "start", "l4d2@alpha.service")
	})

	t.Run("a renamed instance takes its files along, a re-created one starts afresh", func(t *testing.T) {
		// Renamed by hand: bravo's tree and spec become charlie's, and
		// charlie's own user gets every file of bravo's.
		c.MustRun(t, "systemctl", "stop", "l4d2@bravo.service")
		c.MustRun(t, "mv", "/var/lib/left4me/runtime/bravo", "/var/lib/left4me/runtime/charlie")
		c.MustRun(t, "mv", "/etc/left4me/instances/bravo.yaml", "/etc/left4me/instances/charlie.yaml")
		c.MustRun(t, "systemctl", "daemon-reload")
		c.MustRun(t, "systemctl", "start", "l4d2@charlie.service")
		charlie := readReport(t, state, "charlie")
		if charlie.UID == bravo.UID || charlie.UID == alpha.UID {
			t.Errorf("charlie runs as uid %d (bravo was %d, alpha is %d)", charlie.UID, bravo.UID, alpha.UID)
		}
		if out := c.MustRun(t, "find", "/var/lib/left4me/runtime/charlie/upper", "/var/lib/left4me/runtime/charlie/dumps",
			"!", "-uid", strconv.Itoa(charlie.UID)); strings.TrimSpace(out) != "" {
			t.Errorf("files of charlie not charlie's:\n%s", out)
		}
		// Deleted and created again: nothing of the old alpha is left.
		c.MustRun(t, "left4me", "delete", "alpha", "--yes")
		c.MustRun(t, "sh", "-c", "echo 'port: 27050' > /etc/left4me/instances/alpha.yaml")
		c.MustRun(t, "systemctl", "daemon-reload")
		c.MustRun(t, "systemctl", "start", "l4d2@alpha.service")
		if _, err := os.Stat(filepath.Join(state, "runtime/alpha/upper/left4dead2/standin-attack.json")); !os.IsNotExist(err) {
			t.Errorf("the re-created alpha has the old one's files: %v", err)
		}
	})
}

// A disk ceiling (issue 26, item 9): a running server over it is stopped by
// left4me-disk.service (run at once here instead of waiting for its timer),
// and its next start is refused saying why, until space is freed.
func TestDiskCeiling(t *testing.T) {
	requireE2E(t)
	c, state := bootPaged(t, map[string]string{"overlays/holder/left4dead2/cfg/standin_attack": "hold /var/tmp/hidden 83886080\n"}, map[string]string{
		"etc/left4me/instances/full.yaml":   "port: 27052\nresources: {disk: 64M}\n",
		"etc/left4me/instances/calm.yaml":   "port: 27053\nresources: {disk: 64M}\n",
		"etc/left4me/instances/holder.yaml": "port: 27054\nresources: {disk: 64M}\noverlays: [holder]\n",
		"etc/left4me/instances/many.yaml":   "port: 27055\nresources: {disk: 64M}\n",
	})
	c.MustRun(t, "systemctl", "start", "l4d2@full.service", "l4d2@calm.service")
	if out, _ := c.Run(t, "systemctl", "is-active", "left4me-disk.timer"); strings.TrimSpace(out) != "active" {
		t.Errorf("left4me-disk.timer is %q while servers run", out)
	}
	// 80 MiB written by the server (its uid, in its upper layer), not a
	// log: logs are pruned to half the ceiling at a start.
	big := filepath.Join(state, "runtime/full/upper/left4dead2/data/huge.bin")
	uid := readReport(t, state, "full").UID
	c.MustRun(t, "sh", "-c", "mkdir -p /var/lib/left4me/runtime/full/upper/left4dead2/data && head -c 83886080 /dev/zero > /var/lib/left4me/runtime/full/upper/left4dead2/data/huge.bin && chown -R "+strconv.Itoa(uid)+" /var/lib/left4me/runtime/full/upper/left4dead2/data")
	if _, err := c.Run(t, "systemctl", "start", "left4me-disk.service"); err == nil {
		t.Error("left4me-disk.service succeeded with an instance over its ceiling")
	}
	c.WaitFor(t, "full stopped", 30*time.Second, func() bool { return unitState(t, c, "full") != "active" })
	if st := unitState(t, c, "calm"); st != "active" {
		t.Errorf("calm, under its ceiling, is %s", st)
	}
	if j, _ := c.Run(t, "journalctl", "-u", "left4me-disk.service", "--no-pager", "-o", "cat"); !strings.Contains(j, "runtime/full: over its disk ceiling") {
		t.Errorf("left4me-disk.service's journal does not say why:\n%s", j)
	}
	// The operator is told (a stop is no failure: OnFailure= stays quiet),
	// for full alone, and status says why it is down.
	c.WaitFor(t, "the disk alert", time.Minute, func() bool {
		out, _ := c.Run(t, "cat", "/run/events.jsonl")
		return strings.Contains(out, `"event":"disk-full","instance":"full"`) && strings.Contains(out, "more than its ceiling of 64.0 MiB")
	})
	if out, _ := c.Run(t, "cat", "/run/events.jsonl"); strings.Contains(out, `"instance":"calm"`) {
		t.Errorf("calm was alerted:\n%s", out)
	}
	if out, _ := c.Run(t, "left4me", "status", "full", "-n", "0"); !strings.Contains(out, "more than its ceiling of 64.0 MiB") || !strings.Contains(out, "its start is refused") {
		t.Errorf("status of full:\n%s", out)
	}
	if _, err := c.Run(t, "systemctl", "start", "l4d2@full.service"); err == nil {
		t.Error("full started over its ceiling")
	}
	if j := c.Journal(t, "l4d2@full.service"); !strings.Contains(j, "more than the 64.0 MiB it may") || !strings.Contains(j, "left4me reset full") {
		t.Errorf("the refusal does not say why:\n%s", j)
	}
	// The refusal is not retried (it would only come back, alerted each
	// time), and left4me start refuses before asking systemd.
	c.WaitFor(t, "the retry to decline", 30*time.Second, func() bool {
		return strings.Contains(c.Journal(t, "left4me-retry@full.service"), "its start helper refused to start it")
	})
	if out, err := c.Run(t, "left4me", "start", "full"); err == nil || !strings.Contains(err.Error(), "a start of full would be refused, so nothing was done") || !strings.Contains(err.Error(), "more than the 64.0 MiB it may") {
		t.Errorf("left4me start of full: %v\n%s", err, out)
	}
	if err := os.Remove(big); err != nil {
		t.Fatal(err)
	}
	c.MustRun(t, "systemctl", "reset-failed", "l4d2@full.service")
	c.MustRun(t, "systemctl", "start", "l4d2@full.service")

	// A server whose spec was removed while it runs (an orphan) is held to
	// the host's ceiling (limits.yaml) as a spec without one would be.
	c.MustRun(t, "sh", "-c", "echo 'disk: 64M' >/etc/left4me/limits.yaml && rm /etc/left4me/instances/calm.yaml && systemctl daemon-reload")
	c.MustRun(t, "sh", "-c", "mkdir -p /var/lib/left4me/runtime/calm/upper/left4dead2/data && head -c 83886080 /dev/zero > /var/lib/left4me/runtime/calm/upper/left4dead2/data/huge.bin")
	if _, err := c.Run(t, "systemctl", "start", "left4me-disk.service"); err == nil {
		t.Error("left4me-disk.service succeeded with an orphan over the host's ceiling")
	}
	c.WaitFor(t, "the orphan calm stopped", 30*time.Second, func() bool { return unitState(t, c, "calm") != "active" })
	if j, _ := c.Run(t, "journalctl", "-u", "left4me-disk.service", "--no-pager", "-o", "cat"); !strings.Contains(j, "calm: no start plan (its spec was removed while it runs): held to the host's ceilings") || !strings.Contains(j, "runtime/calm: over its disk ceiling") {
		t.Errorf("left4me-disk.service's journal does not say why calm was stopped:\n%s", j)
	}
	if st := unitState(t, c, "full"); st != "active" {
		t.Errorf("full, under its ceiling, is %s", st)
	}
	c.WaitFor(t, "the orphan's disk alert", time.Minute, func() bool {
		out, _ := c.Run(t, "cat", "/run/events.jsonl")
		return strings.Contains(out, `"event":"disk-full","instance":"calm"`)
	})

	// What a server writes to its private /var/tmp (on the host's disk,
	// outside its tree) counts too; the stop takes it away, so it may
	// start again.
	pid := strings.TrimSpace(c.MustRun(t, "systemctl", "show", "-P", "MainPID", "l4d2@full.service"))
	c.MustRun(t, "nsenter", "-t", pid, "-m", "--", "sh", "-c", "head -c 83886080 /dev/zero >/var/tmp/fill")
	if out := c.MustRun(t, "sh", "-c", "du -sm /var/tmp/systemd-private-*-l4d2@full.service-*"); !strings.HasPrefix(out, "80\t") && !strings.HasPrefix(out, "81\t") {
		t.Errorf("full's private /var/tmp on the host: %q", out)
	}
	if _, err := c.Run(t, "systemctl", "start", "left4me-disk.service"); err == nil {
		t.Error("left4me-disk.service succeeded with full's /var/tmp over its ceiling")
	}
	c.WaitFor(t, "full stopped for its /var/tmp", 30*time.Second, func() bool { return unitState(t, c, "full") != "active" })
	if j, _ := c.Run(t, "journalctl", "-u", "left4me-disk.service", "--no-pager", "-o", "cat"); !strings.Contains(j, "its private /tmp and /var/tmp 80.0 MiB and files it deleted but keeps open 0 B, more than the 64.0 MiB it may") {
		t.Errorf("left4me-disk.service's journal does not say why full was stopped:\n%s", j)
	}
	c.MustRun(t, "systemctl", "start", "l4d2@full.service")

	// Nor do files it deleted but keeps open escape it: no walk sees them.
	c.MustRun(t, "systemctl", "start", "l4d2@holder.service")
	c.WaitFor(t, "holder to hold its deleted file", 30*time.Second, func() bool {
		return strings.Contains(c.Journal(t, "l4d2@holder.service"), "attack: holding 83886080 bytes in /var/tmp/hidden, deleted")
	})
	if _, err := c.Run(t, "systemctl", "start", "left4me-disk.service"); err == nil {
		t.Error("left4me-disk.service succeeded with holder's deleted file over its ceiling")
	}
	c.WaitFor(t, "holder stopped", 30*time.Second, func() bool { return unitState(t, c, "holder") != "active" })
	if j, _ := c.Run(t, "journalctl", "-u", "left4me-disk.service", "--no-pager", "-o", "cat"); !strings.Contains(j, "files it deleted but keeps open 80.0 MiB, more than the 64.0 MiB it may") {
		t.Errorf("left4me-disk.service's journal does not say why holder was stopped:\n%s", j)
	}
	if st := unitState(t, c, "full"); st != "active" {
		t.Errorf("full, under its ceiling, is %s", st)
	}

	// Nor do empty files: no block, but an inode each, of which ext4 has
	// a fixed number; each counts its filesystem's bytes per inode.
	c.MustRun(t, "systemctl", "start", "l4d2@many.service")
	var fs unix.Statfs_t
	if err := unix.Statfs(filepath.Join(state, "runtime/many/upper"), &fs); err != nil {
		t.Fatal(err)
	}
	if fs.Files == 0 {
		t.Log("the state's filesystem has no inode count (btrfs): no empty-file step")
		return
	}
	perInode := int64(fs.Blocks) * fs.Frsize / int64(fs.Files)
	n := 64<<20/perInode + 512
	uid = readReport(t, state, "many").UID
	c.MustRun(t, "sh", "-c", fmt.Sprintf("d=/var/lib/left4me/runtime/many/upper/left4dead2/empty && mkdir -p $d && cd $d && seq %d | xargs touch && chown -R %d $d && test -z \"$(find $d -type f -size +0)\"", n, uid))
	if _, err := c.Run(t, "systemctl", "start", "left4me-disk.service"); err == nil {
		t.Errorf("left4me-disk.service succeeded with %d empty files (%d bytes per inode) over a 64 MiB ceiling", n, perInode)
	}
	c.WaitFor(t, "many stopped", 30*time.Second, func() bool { return unitState(t, c, "many") != "active" })
	if j, _ := c.Run(t, "journalctl", "-u", "left4me-disk.service", "--no-pager", "-o", "cat"); !strings.Contains(j, "runtime/many: over its disk ceiling") || !strings.Contains(j, "each file counts at least its filesystem's bytes per inode") {
		t.Errorf("left4me-disk.service's journal does not say why many was stopped:\n%s", tail(j, 20))
	}
}
