package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/tests/bench/hostinfo"
	"github.com/left4me/left4me/tests/container"
	"github.com/left4me/left4me/tests/install"
	"github.com/left4me/left4me/units"
)

// Ports: instance sI listens on ourPort+I, floor unit floor@P on P,
// sandboxed floor unit sandbox@P on P.
const (
	ourPort     = 27200
	floorPort   = 27600
	sandboxPort = 27800
)

// floorUnit is the least a unit can be that runs the server: no helpers,
// no overlay (the installation directly), no probe, no sandbox, no relay.
const floorUnit = `[Unit]
Description=floor: the stand-in on port %i, nothing else
PartOf=floor.target

[Service]
Type=simple
User=left4me
WorkingDirectory=/var/lib/left4me/installation
Environment=LD_LIBRARY_PATH=.:bin
ExecStart=/var/lib/left4me/installation/srcds_linux -game left4dead2 -port %i -strictportbind +map c1m1_hotel
`

// sandboxUnit is the floor with l4d2@.service's sandbox: every directive
// from its "# Sandbox." section on (units.RenderTemplate), plus the
// installation, which the sandbox's TemporaryFileSystem= hides. The
// difference to the floor is what the sandbox costs; the difference to
// l4d2.target what the helpers, the overlay and the relay cost.
const installationBind = "BindReadOnlyPaths=/var/lib/left4me/installation"

func sandboxUnit() string {
	tpl := string(units.RenderTemplate(units.Config{Layout: layout.Layout{Root: layout.DefaultRoot, ConfigDir: layout.DefaultConfigDir},
		HelperDir: "/usr/lib/left4me", PlanDir: "/run/systemd/generator"}))
	i := strings.Index(tpl, "# Sandbox.")
	var b strings.Builder
	b.WriteString(strings.Replace(floorUnit, "PartOf=floor.target", "PartOf=sandbox.target", 1))
	for line := range strings.SplitSeq(tpl[max(i, 0):], "\n") {
		if line == "" || strings.HasPrefix(line, "[") {
			if strings.HasPrefix(line, "[") {
				break
			}
			continue
		}
		if !strings.HasPrefix(line, "#") {
			b.WriteString(line + "\n")
		}
	}
	b.WriteString(installationBind + "\n")
	return b.String()
}

type target struct {
	name  string // the target systemctl starts
	ports func(n int) []int
	units func(n int) []string // in the order of ports
	// mounts: boot it on a host that already has one overlay mounted per
	// instance, as a host running that many left4me servers has (arm key
	// name+mountsSuffix).
	mounts bool
}

// key names the arm in the results.
func (t target) key() string {
	if t.mounts {
		return t.name + mountsSuffix
	}
	return t.name
}

// boot is one start of a target: the time until the last instance
// answered, and per instance (µs): from the start command until systemd
// began the unit (its queue), through its ExecStartPre= until the main
// process was forked, and from there until the server answered.
type boot struct {
	total                time.Duration
	queued, pre, toReply []int64
	cpu                  time.Duration // the container's CPU time (cgroup) over the boot, -1 unknown
}

func ports(base, n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = base + i
	}
	return p
}

func run(o options) error {
	maxN := slices.Max(o.counts)
	state := filepath.Join(o.scratch, "state")
	if err := installGame(filepath.Join(state, "installation"), filepath.Join(o.repo, "build")); err != nil {
		return err
	}
	ct, err := container.New(container.Options{Prefix: "left4me-bench-", State: state, Lower: o.lower})
	if err != nil {
		return err
	}
	defer func() {
		if err := ct.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "scale:", err)
		}
	}()
	if err := install.Project(ct.Root, o.repo); err != nil {
		return err
	}
	if err := writeUnits(ct.Root, maxN); err != nil {
		return err
	}
	ctx := context.Background()
	if err := ct.Boot(ctx, 2*time.Minute); err != nil {
		return err
	}
	if v, err := ct.Run(ctx, "systemctl", "--version"); err == nil {
		first, _, _ := strings.Cut(v, "\n")
		fmt.Fprintf(os.Stderr, "scale: container root on %s: %s\n", o.lower, first)
	}
	if o.hold {
		fmt.Fprintf(os.Stderr, "scale: holding the container: nsenter -t %d -a; root %s; close stdin to end\n", ct.PID1, ct.Root)
		_, _ = io.Copy(io.Discard, os.Stdin)
		return nil
	}
	sh := func(args ...string) error {
		_, err := ct.Run(ctx, args...)
		return err
	}
	targets := []target{
		{"l4d2.target", func(n int) []int { return ports(ourPort, n) }, func(n int) []string { return names("l4d2@s%d.service", 0, n) }, false},
		{"floor.target", func(n int) []int { return ports(floorPort, n) }, func(n int) []string { return names("floor@%d.service", floorPort, n) }, false},
		{"sandbox.target", func(n int) []int { return ports(sandboxPort, n) }, func(n int) []string { return names("sandbox@%d.service", sandboxPort, n) }, false},
	}
	if o.mounts {
		t := targets[2]
		t.mounts = true
		targets = append(targets, t)
	}
	load0 := hostinfo.LoadAvg()
	t0 := time.Now()
	times := map[string]map[int][]boot{}
	for r := range o.rounds {
		for _, n := range o.counts {
			if err := enable(ct.Root, n, maxN); err != nil {
				return err
			}
			if err := sh("systemctl", "daemon-reload"); err != nil {
				return err
			}
			for j := range targets {
				tg := targets[(j+r)%len(targets)]
				if tg.mounts {
					if err := sh("sh", "-c", mountScript(n)); err != nil {
						return err
					}
				}
				b, err := bootTime(ct, tg, n)
				if err != nil {
					return fmt.Errorf("%s, %d instances: %w", tg.key(), n, err)
				}
				if times[tg.key()] == nil {
					times[tg.key()] = map[int][]boot{}
				}
				times[tg.key()][n] = append(times[tg.key()][n], b)
				fmt.Fprintf(os.Stderr, "scale: round %d, %s, %d instances: %v\n", r+1, tg.key(), n, b.total.Round(time.Millisecond))
				if err := sh("systemctl", "stop", tg.name); err != nil {
					return err
				}
				if tg.mounts {
					if err := sh("sh", "-c", unmountScript); err != nil {
						return err
					}
				}
			}
		}
	}
	// The overhead of running instances: all of ours up, watched idle.
	if err := enable(ct.Root, maxN, maxN); err != nil {
		return err
	}
	if err := sh("systemctl", "daemon-reload"); err != nil {
		return err
	}
	if _, err := bootTime(ct, targets[0], maxN); err != nil {
		return err
	}
	ov, err := overhead(ct.PID1, maxN, o.idle)
	if err != nil {
		return err
	}
	if o.trace {
		out, _ := ct.Run(ctx, "journalctl", "-o", "short-monotonic", "--no-pager", "-u", "l4d2@s0.service", "-u", "floor@27600.service")
		fmt.Fprintln(os.Stderr, out)
	}
	if err := sh("systemctl", "stop", "l4d2.target"); err != nil {
		return err
	}
	report(os.Stdout, o, times, ov, time.Since(t0), load0, hostinfo.LoadAvg())
	if o.breakdown > 0 {
		if o.breakdownMounts > 0 {
			if err := sh("sh", "-c", mountScript(o.breakdownMounts)); err != nil {
				return err
			}
			fmt.Fprintf(os.Stdout, "\nBeside %d overlays mounted on the host:\n", o.breakdownMounts)
		}
		return breakdown(ct, os.Stdout, o.breakdown)
	}
	return nil
}

// mountsSuffix marks the arm booted beside n mounted overlays.
const mountsSuffix = " (beside N overlays)"

// mountDir holds the stand-in overlays of the mounts arm.
const mountDir = "/var/lib/left4me/bench-mounts"

// mountScript mounts n overlays of the installation in the container's
// own (PID 1's) mount namespace, where each running left4me instance has
// its merged tree: every mount namespace systemd sets up for a sandboxed
// unit starts as a copy of that table.
func mountScript(n int) string {
	return fmt.Sprintf(`set -e
for i in $(seq 1 %d); do
  d=%s/$i; mkdir -p $d/upper $d/work $d/merged
  mount -t overlay overlay -o lowerdir=/var/lib/left4me/installation,upperdir=$d/upper,workdir=$d/work $d/merged
done`, n, mountDir)
}

// unmountScript removes them again; it stops at a mount that stays (rm
// would then only add whiteouts to that overlay's upper layer).
const unmountScript = `for m in $(awk '$5 ~ "^` + mountDir + `/" {print $5}' /proc/self/mountinfo); do umount "$m" || exit 1; done; rm -rf ` + mountDir

// bootTime starts tg's units for n instances and times them (boot).
func bootTime(ct *container.Container, tg target, n int) (boot, error) {
	var b boot
	ctx := context.Background()
	cpu0 := containerCPU(ct)
	t0 := monoUS()
	if _, err := ct.Run(ctx, "systemctl", "start", "--no-block", tg.name); err != nil {
		return b, err
	}
	first, err := answering(ct, tg.ports(n), 5*time.Minute)
	if err != nil {
		return b, err
	}
	b.cpu = -1
	if cpu1 := containerCPU(ct); cpu0 >= 0 && cpu1 >= 0 {
		b.cpu = cpu1 - cpu0
	}
	units := tg.units(n)
	out, err := ct.Run(ctx, append([]string{"systemctl", "show", "-p", "InactiveExitTimestampMonotonic", "-p", "ExecMainStartTimestampMonotonic", "--"}, units...)...)
	if err != nil {
		return b, err
	}
	blocks := strings.Split(strings.TrimSpace(out), "\n\n")
	if len(blocks) != n {
		return b, fmt.Errorf("systemctl show: %d blocks for %d units", len(blocks), n)
	}
	var last int64
	for i, p := range tg.ports(n) {
		var exit, main int64
		for line := range strings.SplitSeq(blocks[i], "\n") {
			k, v, _ := strings.Cut(line, "=")
			x, _ := strconv.ParseInt(v, 10, 64)
			switch k {
			case "InactiveExitTimestampMonotonic":
				exit = x
			case "ExecMainStartTimestampMonotonic":
				main = x
			}
		}
		b.queued = append(b.queued, exit-t0)
		b.pre = append(b.pre, main-exit)
		b.toReply = append(b.toReply, first[p]-main)
		last = max(last, first[p])
	}
	b.total = time.Duration(last-t0) * time.Microsecond
	return b, nil
}

func names(format string, base, n int) []string {
	u := make([]string, n)
	for i := range u {
		u[i] = fmt.Sprintf(format, base+i)
	}
	return u
}

// enable makes the first n instances (and floor units) start with their
// target and the others not: autostart in the specs (the generator writes
// the wants links at the daemon-reload), links for the floor.
func enable(root string, n, maxN int) error {
	for _, t := range []struct {
		unit string
		port int
	}{{"floor", floorPort}, {"sandbox", sandboxPort}} {
		wants := filepath.Join(root, "etc/systemd/system", t.unit+".target.wants")
		if err := os.RemoveAll(wants); err != nil {
			return err
		}
		if err := os.MkdirAll(wants, 0o755); err != nil {
			return err
		}
		for i := range n {
			if err := os.Symlink("../"+t.unit+"@.service", filepath.Join(wants, fmt.Sprintf("%s@%d.service", t.unit, t.port+i))); err != nil {
				return err
			}
		}
	}
	for i := range maxN {
		spec := fmt.Sprintf("port: %d\nautostart: %t\n", ourPort+i, i < n)
		if err := os.WriteFile(filepath.Join(root, "etc/left4me/instances", fmt.Sprintf("s%d.yaml", i)), []byte(spec), 0o640); err != nil {
			return err
		}
	}
	return nil
}

func writeUnits(root string, maxN int) error {
	dir := filepath.Join(root, "etc/systemd/system")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "floor@.service"), []byte(floorUnit), 0o644); err != nil {
		return err
	}
	for name, body := range map[string]string{
		"floor.target":     "[Unit]\nDescription=floor instances\n",
		"sandbox@.service": sandboxUnit(),
		"sandbox.target":   "[Unit]\nDescription=floor instances in l4d2@.service's sandbox\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	// Each floor and sandbox instance gets the command line l4d2@'s
	// drop-in would pass for a spec with its port (the whole port set: the
	// engine's own defaults for the client, SourceTV and Steam ports would
	// collide between instances, as they would between real servers).
	for _, arm := range []struct {
		unit string
		base int
	}{{"floor", floorPort}, {"sandbox", sandboxPort}} {
		for i := range maxN {
			port := arm.base + i
			sp, err := spec.Parse("floor.yaml", []byte(fmt.Sprintf("port: %d\n", port)))
			if err != nil {
				return err
			}
			argv := units.Command(layout.Layout{Root: layout.DefaultRoot, ConfigDir: layout.DefaultConfigDir}, "floor", sp)
			conf := "[Service]\nExecStart=\nExecStart=/var/lib/left4me/installation/srcds_linux " + strings.Join(argv[1:], " ") + "\n"
			d := filepath.Join(dir, fmt.Sprintf("%s@%d.service.d", arm.unit, port))
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(d, "ports.conf"), []byte(conf), 0o644); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "etc/left4me/instances"), 0o755); err != nil {
		return err
	}
	return enable(root, 0, maxN)
}

// installGame puts the stand-in where the game goes, as the end-to-end
// tests do: it answers at once.
func installGame(dir, build string) error {
	for _, f := range []struct{ src, dst string }{{"srcds_run", "srcds_run"}, {"srcds_linux", "srcds_linux"}} {
		data, err := os.ReadFile(filepath.Join(build, f.src))
		if err != nil {
			return fmt.Errorf("%w (make standin builds it)", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.dst), data, 0o755); err != nil {
			return err
		}
	}
	for _, d := range []string{"bin", "left4dead2/cfg"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "bin/libtier0_srv.so"), []byte("stand-in for Valve's libtier0_srv.so\n"), 0o644)
}

// containerCPU is the CPU time every process of the container used so
// far (cgroup v2 cpu.stat usage_usec of nspawn's payload cgroup: PID 1,
// the helpers, relays and servers; not the kernel's own threads), or -1.
func containerCPU(ct *container.Container) time.Duration {
	for _, d := range ct.Cgroups() {
		data, err := os.ReadFile(filepath.Join(d, "payload", "cpu.stat"))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				if us, err := strconv.ParseInt(v, 10, 64); err == nil {
					return time.Duration(us) * time.Microsecond
				}
			}
		}
	}
	return -1
}
