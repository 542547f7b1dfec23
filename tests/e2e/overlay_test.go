package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The builder of overlay "mods" does what /etc/left4me/overlays/mods.mode
// says, so one definition covers every case.
var overlaySetup = map[string]string{
	"etc/left4me/instances/ova.yaml": "port: 27031\noverlays: [{path: mods, alias: mods}]\n",
	"etc/left4me/instances/ovb.yaml": "port: 27032\noverlays: [mods]\n",
	"etc/left4me/instances/ovc.yaml": "port: 27033\n",
	"etc/left4me/overlays/mods.yaml": "builder: mods.sh\nrestart: [ova, ovc]\ntimeout: 5s\n",
	"etc/left4me/overlays/mods.mode": "good\n",
	"etc/left4me/overlays/mods.txt":  "v1\n",
	"etc/left4me/overlays/mods.sh": `mode=$(cat /etc/left4me/overlays/mods.mode)
echo "building $OVERLAY $VERSION for [$INSTANCES] mode $mode"
case $mode in
good)
	cp /etc/left4me/overlays/mods.txt "$GAME/who.txt"
	echo 'sv_mods 1' | server_cfg
	echo 'sm_extra 1' | cfg sourcemod/extra.cfg
	tar -C "$SCRATCH" -cf "$SCRATCH/a.tar" -T /dev/null
	mkdir -p "$SCRATCH/pkg/addons" && echo plugin > "$SCRATCH/pkg/addons/p.smx"
	tar -C "$SCRATCH/pkg" -cf "$SCRATCH/p.tar" addons && unpack "$SCRATCH/p.tar"
	ln -s /etc/shadow "$GAME/shadow-link"
	;;
fail)
	echo half > "$GAME/who.txt"
	echo "failing halfway"
	false
	echo never
	;;
escape)
	echo pwned > /var/lib/left4me/overlays/mods/left4dead2/who.txt || echo "write to current refused"
	echo pwned > /etc/left4me/pwned || echo "write to /etc refused"
	echo pwned > /var/lib/left4me/pwned || echo "write to state root refused"
	cat /etc/left4me/instances/ova.yaml || echo "read of a spec refused"
	exit 1
	;;
hang)
	echo hanging
	sleep 600
	;;
esac
`,
}

func TestOverlayBuild(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	c := Boot(t, Options{State: state, Install: installProject(t),
		Setup: func(root string) error { return writeFiles(root, overlaySetup) }})

	build := func(t *testing.T, mode string) (string, error) {
		t.Helper()
		c.MustRun(t, "sh", "-c", "echo "+mode+" > /etc/left4me/overlays/mods.mode")
		out, err := c.Run(t, "left4me", "overlay", "build", "mods")
		t.Logf("left4me overlay build mods (%s): %v\n%s", mode, err, out)
		return out, err
	}
	who := func(t *testing.T, name string) string {
		t.Helper()
		out, _ := c.Run(t, "cat", "/var/lib/left4me/runtime/"+name+"/merged/left4dead2/who.txt")
		return strings.TrimSpace(out)
	}
	current := func(t *testing.T) string {
		t.Helper()
		return strings.TrimSpace(c.MustRun(t, "cat", "/var/lib/left4me/overlays/mods/left4dead2/who.txt"))
	}
	active := func(name string) func() bool {
		return func() bool {
			out, _ := c.Run(t, "systemctl", "is-active", "l4d2@"+name+".service")
			return strings.TrimSpace(out) == "active"
		}
	}

	t.Run("first build, instances start on it", func(t *testing.T) {
		out, err := build(t, "good")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "building mods") || !strings.Contains(out, "shadow-link -> /etc/shadow: link points outside") {
			t.Errorf("build output lacks the builder's lines or the link report:\n%s", out)
		}
		c.MustRun(t, "left4me", "start", "ova", "ovb")
		c.WaitFor(t, "ova and ovb active", 30*time.Second, func() bool { return active("ova")() && active("ovb")() })
		if got := who(t, "ova"); got != "v1" {
			t.Errorf("ova sees %q, want v1", got)
		}
		if got := c.MustRun(t, "cat", "/var/lib/left4me/runtime/ova/merged/left4dead2/addons/p.smx"); strings.TrimSpace(got) != "plugin" {
			t.Errorf("unpacked plugin: %q", got)
		}
		if got := c.MustRun(t, "cat", "/var/lib/left4me/runtime/ova/merged/left4dead2/cfg/sourcemod/extra.cfg"); strings.TrimSpace(got) != "sm_extra 1" {
			t.Errorf("cfg sourcemod/extra.cfg: %q", got)
		}
		if got := c.MustRun(t, "stat", "-c", "%u %a", "/var/lib/left4me/overlays/mods/left4dead2/who.txt"); strings.TrimSpace(got) != "0 644" {
			t.Errorf("built file owner and mode: %q, want root 644", got)
		}
	})
	t.Run("second build: restarted instance sees it, running one keeps the old", func(t *testing.T) {
		c.MustRun(t, "sh", "-c", "echo v2 > /etc/left4me/overlays/mods.txt")
		// ovc is in the definition's restart list but does not use mods:
		// it is not restarted.
		c.MustRun(t, "left4me", "start", "ovc")
		ovcPID := mainPID(t, c, "ovc")
		out, err := build(t, "good")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "ovc does not use overlay mods (its spec does not list it); not restarted") || mainPID(t, c, "ovc") != ovcPID {
			t.Errorf("ovc was restarted (main PID %s, was %s):\n%s", mainPID(t, c, "ovc"), ovcPID, out)
		}
		c.MustRun(t, "left4me", "stop", "ovc")
		c.WaitFor(t, "ova active", 30*time.Second, active("ova"))
		if got := who(t, "ova"); got != "v2" {
			t.Errorf("ova (restarted by the build) sees %q, want v2", got)
		}
		if got := who(t, "ovb"); got != "v1" {
			t.Errorf("ovb (still running) sees %q, want v1", got)
		}
		st := c.MustRun(t, "left4me", "overlay", "status", "mods")
		t.Logf("status:\n%s", st)
		if !strings.Contains(st, "running: ovb") || !strings.Contains(st, "(current)  running: ova") {
			t.Errorf("status does not show ova on the current version and ovb on the old one:\n%s", st)
		}
		gc := c.MustRun(t, "left4me", "overlay", "gc")
		if !strings.Contains(gc, "keep") || strings.Contains(gc, "removed") {
			t.Errorf("gc while ovb runs the old version:\n%s", gc)
		}
		c.MustRun(t, "left4me", "restart", "ovb")
		if got := who(t, "ovb"); got != "v2" {
			t.Errorf("ovb after restart sees %q, want v2", got)
		}
		gc = c.MustRun(t, "left4me", "overlay", "gc")
		if !strings.Contains(gc, "removed mods") {
			t.Errorf("gc after ovb's restart:\n%s", gc)
		}
	})
	for _, tc := range []struct{ mode, want, status string }{
		{"fail", "failing halfway", " failed at "},
		{"escape", "refused", " failed at "},
		{"hang", "hanging", " timed out at "},
	} {
		t.Run("build "+tc.mode+" leaves the current version", func(t *testing.T) {
			start := time.Now()
			out, err := build(t, tc.mode)
			if err == nil {
				t.Fatalf("build %s succeeded", tc.mode)
			}
			out += err.Error() // the failure is on stderr
			if !strings.Contains(out, tc.want) || !strings.Contains(out, "current version is unchanged") {
				t.Errorf("output lacks %q or the unchanged note:\n%s", tc.want, out)
			}
			if tc.mode == "escape" && (!strings.Contains(out, "read of a spec refused") || strings.Contains(out, "port: 27031")) {
				t.Errorf("the builder read a spec:\n%s", out)
			}
			if tc.mode == "hang" && time.Since(start) > 40*time.Second {
				t.Errorf("a 5s timeout took %v", time.Since(start))
			}
			if got := current(t); got != "v2" {
				t.Errorf("current version now has who.txt %q, want v2", got)
			}
			if got := who(t, "ova"); got != "v2" {
				t.Errorf("ova sees %q", got)
			}
			if _, err := c.Run(t, "test", "-e", "/etc/left4me/pwned"); err == nil {
				t.Error("the builder wrote /etc/left4me/pwned")
			}
			if _, err := c.Run(t, "test", "-e", "/var/lib/left4me/pwned"); err == nil {
				t.Error("the builder wrote /var/lib/left4me/pwned")
			}
			if out, _ := c.Run(t, "sh", "-c", "ls -a /var/lib/left4me/overlay-builds/mods"); strings.Contains(out, ".build-") {
				t.Errorf("a build directory stayed: %s", out)
			}
			if st := c.MustRun(t, "left4me", "overlay", "status", "mods"); !strings.Contains(st, tc.status) {
				t.Errorf("status does not say the build%s:\n%s", tc.status, st)
			}
		})
	}
	t.Run("build interrupted: status says so, not failed", func(t *testing.T) {
		c.MustRun(t, "sh", "-c", "echo hang > /etc/left4me/overlays/mods.mode")
		done := make(chan string, 1)
		go func() {
			out, err := c.Run(t, "sh", "-c", `echo $$ > /run/build.pid; exec left4me overlay build mods`)
			done <- fmt.Sprintf("%s\nerror: %v", out, err)
		}()
		c.WaitFor(t, "the build unit to run", 30*time.Second, func() bool {
			out, _ := c.Run(t, "systemctl", "list-units", "--no-legend", "--state=active", "left4me-build-mods-*")
			return strings.TrimSpace(out) != ""
		})
		time.Sleep(time.Second) // into the builder's sleep
		c.MustRun(t, "sh", "-c", `kill -INT "$(cat /run/build.pid)"`)
		var out string
		select {
		case out = <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("left4me overlay build still runs 60 s after SIGINT")
		}
		if !strings.Contains(out, "interrupted") {
			t.Errorf("the interrupted build:\n%s", out)
		}
		st := c.MustRun(t, "left4me", "overlay", "status", "mods")
		if !strings.Contains(st, " interrupted at ") || strings.Contains(st, " failed at ") {
			t.Errorf("status after the Ctrl-C:\n%s", st)
		}
		if got := current(t); got != "v2" {
			t.Errorf("current version now has who.txt %q, want v2", got)
		}
	})
	// gc decides under every instance's start lock, then deletes with
	// them given back: a start never waits for a version's files to go.
	// gc is stopped (SIGSTOP) once the version it removes is out of use;
	// while it holds no instance's lock and the version is not yet
	// deleted, a start must go through.
	t.Run("gc deletes with the starts let go", func(t *testing.T) {
		c.MustRun(t, "sh", "-c", `mkdir -p /var/tmp/big/left4dead2/d && cd /var/tmp/big/left4dead2/d && seq 1 50000 | xargs touch`)
		c.MustRun(t, "left4me", "overlay", "import", "big", "/var/tmp/big")
		c.MustRun(t, "sh", "-c", "rm -r /var/tmp/big/left4dead2/d && echo small > /var/tmp/big/left4dead2/who.txt")
		c.MustRun(t, "left4me", "overlay", "import", "big", "/var/tmp/big")
		// ovc has run before (runtime/ovc exists): gc takes its lock.
		c.MustRun(t, "left4me", "start", "ovc")
		c.MustRun(t, "left4me", "stop", "ovc")
		out, err := c.Run(t, "sh", "-c", gcWhileStarting)
		t.Logf("%v\n%s", err, out)
		for _, want := range []string{"stopped mid-delete, holding no instance's lock", "ovc started meanwhile",
			"the old version was not yet deleted", "gc exit 0", "removed big "} {
			if !strings.Contains(out, want) {
				t.Errorf("lacks %q", want)
			}
		}
		if out, _ := c.Run(t, "sh", "-c", "ls -a /var/lib/left4me/overlay-builds/big"); strings.Contains(out, ".build-") {
			t.Errorf("left after gc: %s", out)
		}
		c.MustRun(t, "left4me", "stop", "ovc")
	})
}

// gcWhileStarting runs overlay gc of "big" and stops it as soon as the
// version it removes is out of use (renamed to .build-trash-ID) and it
// holds no instance's start lock (lslocks: the locks are flocks on
// runtime/NAME); then starts ovc, and lets gc go on.
const gcWhileStarting = `
left4me overlay gc big >/var/tmp/gc.out 2>&1 &
gc=$!
found=
for i in $(seq 1 4000); do
	if ls -d /var/lib/left4me/overlay-builds/big/.build-trash-* >/dev/null 2>&1; then
		kill -STOP $gc
		if lslocks -n -p $gc -o PATH | grep -q /var/lib/left4me/runtime/; then
			kill -CONT $gc
		else
			found=1
			break
		fi
	fi
	kill -0 $gc 2>/dev/null || break
	sleep 0.002
done
if [ -n "$found" ]; then
	echo "stopped mid-delete, holding no instance's lock"
	timeout 60 left4me start ovc && echo "ovc started meanwhile"
	ls -d /var/lib/left4me/overlay-builds/big/.build-trash-* >/dev/null 2>&1 && echo "the old version was not yet deleted"
	kill -CONT $gc
fi
wait $gc
echo "gc exit $?"
cat /var/tmp/gc.out
`
