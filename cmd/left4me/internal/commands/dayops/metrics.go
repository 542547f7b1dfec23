package dayops

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/internal/probe"
	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/game"
	"github.com/left4me/left4me/cmd/left4me/internal/metrics"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
)

// cgroupRoot is where the unified cgroup hierarchy is mounted; a unit's
// ControlGroup property is its path below.
const cgroupRoot = "/sys/fs/cgroup"

func MetricsCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:  "metrics",
		Usage: "print Prometheus metrics of the instances, the game and the backups",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "http", Usage: "serve GET /metrics over HTTP on the socket systemd passes (left4me-metrics@.service), else on --listen"},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:9788", Usage: "with --http, the address when systemd passes no socket"},
		},
		Description: `Prints, in Prometheus's text format, per instance: l4d2_up (the unit
is active), l4d2_a2s_up (it answered A2S_INFO), l4d2_players (humans), l4d2_bots, l4d2_max_players, l4d2_map_info{map}, the A2S_INFO
latency (each asked where it really runs), l4d2_restarts_total, the unit's
memory and CPU, the upper layer's size and the last backup's time; and the
game's build and when it was installed. For node_exporter's textfile
collector, or served on 127.0.0.1:9788 by left4me-metrics.socket. Needs
root (the upper layers and backups are root's).

Example:
  left4me metrics
  left4me metrics > /var/lib/prometheus/node-exporter/left4me.prom`,
		Action: func(c *cli.Context) error {
			if c.Bool("http") {
				return e.serveMetrics(c.Context, c.String("listen"))
			}
			s, err := e.snapshot(c.Context)
			if err != nil {
				return err
			}
			if e.Euid != 0 {
				// Left out, not zero: an alert on a backup's age must not
				// read a missing series as fine without anyone knowing.
				fmt.Fprintln(e.Stderr, "note: not root: l4d2_upper_bytes and l4d2_backup_last_timestamp_seconds are left out (the upper layers and backups are root's); run it as root")
			}
			return metrics.Write(e.Stdout, s)
		},
	}
}

// serveMetrics serves GET /metrics on the listening socket systemd
// passes (left4me-metrics.socket, Accept=no), or on listen when run by
// hand, until stopped or idle (metrics.Server bounds what clients take).
func (e *Env) serveMetrics(ctx context.Context, listen string) error {
	ls, err := activation.Listeners()
	if err != nil {
		return fmt.Errorf("metrics: sockets from systemd: %w", err)
	}
	lim := metrics.DefaultLimits()
	switch len(ls) {
	case 0:
		l, err := net.Listen("tcp", listen)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		ls = []net.Listener{l}
		lim.Idle = 0 // nothing would start it again
	case 1:
	default:
		return fmt.Errorf("metrics: systemd passed %d sockets, want one (left4me-metrics.socket has one ListenStream=)", len(ls))
	}
	defer ls[0].Close()
	fmt.Fprintf(e.Stderr, "<6>metrics: serving on %s\n", ls[0].Addr())
	srv := metrics.Server{Log: e.Stderr, Limits: lim, Gather: func(ctx context.Context, w io.Writer) error {
		s, err := e.snapshot(ctx)
		if err != nil {
			return err
		}
		return metrics.Write(w, s)
	}}
	return srv.Serve(ctx, ls[0])
}

// snapshot gathers the numbers; what cannot be known is left out.
func (e *Env) snapshot(ctx context.Context) (metrics.Snapshot, error) {
	var s metrics.Snapshot
	if st, err := game.ReadStatus(versions.Store{Root: e.Layout.Root}); err == nil {
		for _, v := range st.Versions {
			if v.Current && v.ManifestErr == nil {
				s.GameBuild = v.Manifest.BuildID
				if !v.Manifest.LastUpdated.IsZero() {
					t := float64(v.Manifest.LastUpdated.Unix())
					s.GameUpdate = &t
				}
			}
		}
	}
	names := e.Names()
	sd, err := e.Connect(ctx)
	if err != nil {
		return s, err
	}
	defer sd.Close()
	// A server whose spec was removed while it runs uses the host all the
	// same (left4me list shows it as an orphan).
	for _, u := range e.Orphans(ctx, sd) {
		names = append(names, unitctl.NameOfUnit(u.Name))
	}
	units := make([]string, len(names))
	for i, n := range names {
		units[i] = clienv.UnitOf(n)
	}
	us, err := sd.Units(ctx, units)
	if err != nil {
		return s, err
	}
	active := map[string]bool{}
	for _, u := range us {
		active[u.Name] = u.ActiveState == "active"
	}
	props := unitProps(ctx, units)
	addrs := map[int]string{} // index in s.Instances: where it runs
	for _, n := range names {
		in := metrics.Instance{Name: n}
		p, ok := props[clienv.UnitOf(n)]
		if ok && p.restarts >= 0 {
			in.Restarts = &p.restarts
		}
		if active[clienv.UnitOf(n)] {
			in.Up = true
			addr, u, err := e.RunningUnit(ctx, sd, n)
			if err == nil {
				addrs[len(s.Instances)] = addr
			}
			// Its relay's status line (ListUnitsByNames above has none).
			in.Hibernating = probe.Hibernating(u.Status)
			if p.cgroup != "" {
				in.MemoryBytes, in.CPUSeconds = cgroupStats(cgroupRoot, p.cgroup)
			}
		}
		if u, err := backup.Usage(e.Layout.RuntimeDir(n)); err == nil {
			in.UpperBytes = &u
		}
		if all, err := backup.List(BackupDir(e.Layout, n)); err == nil && len(all) > 0 {
			t := float64(all[len(all)-1].Time.Unix())
			in.LastBackup = &t
		}
		s.Instances = append(s.Instances, in)
	}
	// The servers are asked at once: one that does not answer costs its
	// timeout once, not once per server after it.
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			began := time.Now()
			info, err := e.ServerInfo(qctx, addr)
			if err != nil {
				return
			}
			in := &s.Instances[i]
			in.Answered, in.Latency = true, time.Since(began).Seconds()
			in.Players, in.Bots, in.MaxPlayers = max(int(info.Players)-int(info.Bots), 0), int(info.Bots), int(info.MaxPlayers)
			in.Map = info.Map
			// An answer with humans on says it woke (list does the same).
			in.Hibernating = in.Hibernating && in.Players == 0
		}()
	}
	wg.Wait()
	return s, nil
}

// cgroupStats reads a cgroup's memory and CPU time: on the unified
// hierarchy (cgroup v2: memory.current, cpu.stat usage_usec), else on v1's
// controllers (memory.usage_in_bytes, cpuacct.usage in ns), as systemd
// mounts them (systemd.resource-control(5)). Unknown ones are nil.
func cgroupStats(root, cg string) (mem *int64, cpu *float64) {
	cg = filepath.Clean("/" + cg)
	num := func(path string) (float64, bool) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		return f, err == nil
	}
	if v, ok := num(filepath.Join(root, cg, "memory.current")); ok {
		m := int64(v)
		mem = &m
	} else if v, ok := num(filepath.Join(root, "memory", cg, "memory.usage_in_bytes")); ok {
		m := int64(v)
		mem = &m
	}
	if b, err := os.ReadFile(filepath.Join(root, cg, "cpu.stat")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					sec := f / 1e6
					cpu = &sec
				}
			}
		}
	} else if v, ok := num(filepath.Join(root, "cpuacct", cg, "cpuacct.usage")); ok {
		sec := v / 1e9
		cpu = &sec
	}
	return mem, cpu
}

// unitProps asks systemctl for the units' NRestarts and ControlGroup in
// one call; a unit it cannot say is left out.
func unitProps(ctx context.Context, units []string) map[string]unitProp {
	out := map[string]unitProp{}
	if len(units) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, err := exec.CommandContext(ctx, "systemctl", append([]string{"show", "--property=Id,NRestarts,ControlGroup", "--"}, units...)...).Output()
	if err != nil {
		return out
	}
	// One block per unit, separated by a blank line, properties in any order.
	for _, block := range strings.Split(string(b), "\n\n") {
		var id string
		p := unitProp{restarts: -1}
		for _, l := range strings.Split(block, "\n") {
			k, v, _ := strings.Cut(l, "=")
			switch k {
			case "Id":
				id = v
			case "NRestarts":
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					p.restarts = n
				}
			case "ControlGroup":
				p.cgroup = v
			}
		}
		if id != "" {
			out[id] = p
		}
	}
	return out
}

type unitProp struct {
	restarts int64  // -1: unknown
	cgroup   string // below /sys/fs/cgroup; "" when not running
}
