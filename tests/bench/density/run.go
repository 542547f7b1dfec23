package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/left4me/left4me/tests/bench/hostinfo"
)

// arm is one way to run n servers: on left4me's overlays or on copies.
type arm struct {
	name string
	dir  func(i int) string // the server's working directory
	up   func(i int) error  // before the server starts
	down func(i int) error  // after it stopped
}

// sample is one measurement of n servers of an arm; memory in KiB.
type sample struct {
	used, cache, anon int64 // host-wide deltas (/proc/meminfo)
	pss, pssFile, rss int64 // sums over the servers (smaps_rollup)
	disk              usage // per server: its own tree (runtime/NAME or the copy)
	elapsed           time.Duration
}

func run(o options) error {
	u, err := user.Lookup("left4me")
	if err != nil {
		return fmt.Errorf("%w (run.sh creates the left4me user)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	maxN := o.counts[len(o.counts)-1]
	x, err := newXFS(o.imageDir, max(4096, 3*(o.libMB+o.vpkMB)+1024))
	if err != nil {
		return err
	}
	defer func() {
		if err := x.close(); err != nil {
			fmt.Fprintln(os.Stderr, "density:", err)
		}
	}()
	state, etc := filepath.Join(x.mnt, "state"), filepath.Join(x.mnt, "etc")
	inst := filepath.Join(state, "installation")
	if err := makeInstallation(inst, o.bin, o.libMB, o.vpkMB); err != nil {
		return err
	}
	for _, d := range []string{"runtime", "overlays"} {
		if err := os.MkdirAll(filepath.Join(state, d), 0o755); err != nil {
			return err
		}
	}
	// The copies: what a panel gives each server, owned by its user.
	for i := range maxN {
		c := filepath.Join(x.mnt, "copies", fmt.Sprintf("c%d", i))
		if err := os.MkdirAll(filepath.Dir(c), 0o755); err != nil {
			return err
		}
		if _, err := sh("cp", "-a", "--reflink=always", inst, c); err != nil {
			return err
		}
		if _, err := sh("chown", "-R", u.Uid+":"+u.Gid, c); err != nil {
			return err
		}
	}
	// left4me's instances: a spec each, the generator's plans.
	gen := filepath.Join(x.mnt, "generator")
	for i := range maxN {
		if err := writeFile(filepath.Join(etc, "instances", fmt.Sprintf("d%d.yaml", i)), fmt.Sprintf("port: %d\n", 27500+i)); err != nil {
			return err
		}
	}
	for _, d := range []string{"normal", "early", "late"} {
		if err := os.MkdirAll(filepath.Join(gen, d), 0o755); err != nil {
			return err
		}
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LEFT4ME_CONFIG_DIR=" + etc, "LEFT4ME_ROOT=" + state,
		"LEFT4ME_PLAN_DIR=" + filepath.Join(gen, "normal"), "GOMAXPROCS=1", "LEFT4ME_IDMAP_PINS=" + filepath.Join(x.mnt, "run", "idmap")}
	if err := helper(env, filepath.Join(o.bin, "left4me-generator"), filepath.Join(gen, "normal"), filepath.Join(gen, "early"), filepath.Join(gen, "late")); err != nil {
		return err
	}
	arms := []arm{{
		name: "left4me (overlays on one installation)",
		dir:  func(i int) string { return filepath.Join(state, "runtime", fmt.Sprintf("d%d", i), "merged") },
		up:   func(i int) error { return helper(env, filepath.Join(o.bin, "left4me-prestart"), fmt.Sprintf("d%d", i)) },
		down: func(i int) error { return helper(env, filepath.Join(o.bin, "left4me-poststop"), fmt.Sprintf("d%d", i)) },
	}, {
		name: "a full copy per server",
		dir:  func(i int) string { return filepath.Join(x.mnt, "copies", fmt.Sprintf("c%d", i)) },
		up:   func(int) error { return nil },
		down: func(int) error { return nil },
	}}
	res := map[string]map[int]sample{}
	start := time.Now()
	load0 := hostinfo.LoadAvg()
	all := map[string]map[int][]sample{}
	for r := range o.rounds {
		for k, n := range o.counts {
			for j := range arms {
				a := arms[(j+k+r)%2] // alternate which arm goes first
				s, err := measure(a, n, uid, gid)
				if err != nil {
					return fmt.Errorf("%s, %d servers: %w", a.name, n, err)
				}
				if all[a.name] == nil {
					all[a.name] = map[int][]sample{}
				}
				all[a.name][n] = append(all[a.name][n], s)
				fmt.Fprintf(os.Stderr, "density: round %d, %s, %d servers: page cache +%d MiB\n", r+1, a.name, n, s.cache>>10)
			}
		}
	}
	for name, byN := range all {
		res[name] = map[int]sample{}
		for n, ss := range byN {
			res[name][n] = median(ss)
		}
	}
	instUsage, err := diskUsage(inst)
	if err != nil {
		return err
	}
	report(os.Stdout, o, arms, res, instUsage, time.Since(start), load0, hostinfo.LoadAvg())
	return nil
}

// measure starts n servers of a from a cold page cache and reads what
// they cost once all of them listen.
func measure(a arm, n, uid, gid int) (sample, error) {
	var s sample
	if err := dropCaches(); err != nil {
		return s, err
	}
	m0, err := readMeminfo()
	if err != nil {
		return s, err
	}
	t0 := time.Now()
	var servers []*server
	defer func() {
		for i, srv := range servers {
			srv.stop()
			_ = a.down(i)
		}
	}()
	for i := range n {
		if err := a.up(i); err != nil {
			return s, err
		}
		srv, err := startServer(a.dir(i), 27500+i, uid, gid)
		if err != nil {
			_ = a.down(i)
			return s, err
		}
		servers = append(servers, srv)
	}
	var pids []int
	for _, srv := range servers {
		if err := srv.wait(2 * time.Minute); err != nil {
			return s, err
		}
		pids = append(pids, srv.cmd.Process.Pid)
	}
	s.elapsed = time.Since(t0)
	time.Sleep(time.Second) // let the last writes and the runtimes settle
	m1, err := readMeminfo()
	if err != nil {
		return s, err
	}
	s.used = (m0["MemFree"] - m1["MemFree"])
	s.cache = m1["Cached"] - m0["Cached"]
	s.anon = m1["AnonPages"] - m0["AnonPages"]
	r, err := rollup(pids, "Pss", "Pss_File", "Rss")
	if err != nil {
		return s, err
	}
	s.pss, s.pssFile, s.rss = r["Pss"], r["Pss_File"], r["Rss"]
	for i := range n {
		root := a.dir(i)
		if strings.HasSuffix(root, "/merged") {
			root = filepath.Dir(root) // runtime/NAME, without the mount
		}
		u, err := diskUsage(root)
		if err != nil {
			return s, err
		}
		s.disk.allocated = max(s.disk.allocated, u.allocated)
		s.disk.apparent = max(s.disk.apparent, u.apparent)
	}
	return s, nil
}

// median is the field-by-field median of the rounds.
func median(ss []sample) sample {
	f := func(get func(sample) int64) int64 {
		v := make([]int64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return sample{
		used:    f(func(s sample) int64 { return s.used }),
		cache:   f(func(s sample) int64 { return s.cache }),
		anon:    f(func(s sample) int64 { return s.anon }),
		pss:     f(func(s sample) int64 { return s.pss }),
		pssFile: f(func(s sample) int64 { return s.pssFile }),
		rss:     f(func(s sample) int64 { return s.rss }),
		disk: usage{
			allocated: f(func(s sample) int64 { return s.disk.allocated }),
			apparent:  f(func(s sample) int64 { return s.disk.apparent }),
		},
		elapsed: time.Duration(f(func(s sample) int64 { return int64(s.elapsed) })),
	}
}

func helper(env []string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v: %s", filepath.Base(argv[0]), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func writeFile(path, body string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}
