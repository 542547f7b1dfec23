package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/startplan"
)

// helperResult is one overlay count of the start/stop comparison.
type helperResult struct {
	overlays        int
	start, stop     series // left4me-prestart, left4me-poststop
	mount8, umount8 series // mount(8), umount(8) of the same layers
	mount2, umount2 series // mount(2), umount2(2) from the launcher: no process at all
	cfgs            int    // server_ALIAS.cfg copies staged per start
}

// helperEnv is a state root shared by every overlay count: an installation
// and maxOverlays overlays, every second one with a server.cfg and an alias.
type helperEnv struct {
	etc, root string
}

func mkfile(path, body string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), mode)
}

func setupHelpers(dir string, maxOverlays int) (*helperEnv, error) {
	e := &helperEnv{etc: filepath.Join(dir, "etc"), root: filepath.Join(dir, "state")}
	files := map[string]string{
		"installation/srcds_run":                    "#!/bin/sh\nexit 0\n",
		"installation/srcds_linux":                  "#!/bin/sh\nexit 0\n",
		"installation/left4dead2/gameinfo.txt":      "GameInfo {}\n",
		"installation/left4dead2/cfg/server.cfg":    "// stock\n",
		"installation/left4dead2/maps/c1m1.bsp":     strings.Repeat("x", 4096),
		"installation/left4dead2/addons/readme.txt": "addons\n",
	}
	for i := range maxOverlays {
		ov := fmt.Sprintf("overlays/ov%02d/left4dead2", i)
		files[ov+"/maps/ov.txt"] = "overlay\n"
		files[ov+"/addons/ov.vpk"] = strings.Repeat("v", 1024)
		if i%2 == 0 {
			files[ov+"/cfg/server.cfg"] = fmt.Sprintf("sv_tags ov%02d\nsv_gametypes coop\n", i)
		}
	}
	for p, body := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "srcds_run") || strings.HasSuffix(p, "srcds_linux") {
			mode = 0o755
		}
		if err := mkfile(filepath.Join(e.root, p), body, mode); err != nil {
			return nil, err
		}
	}
	return e, os.MkdirAll(filepath.Join(e.etc, "instances"), 0o755)
}

// spec for k overlays: every second overlay aliased (its server.cfg is
// staged), so k=10 stages server.cfg and 5 server_ALIAS.cfg copies.
func (e *helperEnv) spec(k int) (name, text string, cfgs int) {
	var b strings.Builder
	fmt.Fprintf(&b, "port: %d\nautostart: true\narguments: [\"+map\", \"c1m1_hotel\", \"-tickrate\", \"100\"]\n", 27000+k)
	b.WriteString("config:\n  - 'hostname \"Bench\"'\n  - sv_maxplayers 8\noverlays:\n")
	for i := range k {
		if i%2 == 0 {
			fmt.Fprintf(&b, "  - {path: ov%02d, alias: ov%02d}\n", i, i)
			cfgs++
		} else {
			fmt.Fprintf(&b, "  - ov%02d\n", i)
		}
	}
	return fmt.Sprintf("bench%d", k), b.String(), cfgs
}

// lowers is the lowerdir list in the helper's order: overlays top first,
// the installation last.
func (e *helperEnv) lowers(k int) string {
	var ls []string
	for i := range k {
		ls = append(ls, filepath.Join(e.root, "overlays", fmt.Sprintf("ov%02d", i)))
	}
	return strings.Join(append(ls, filepath.Join(e.root, "installation")), ":")
}

// isMounted reports whether path is a mount point other than its parent's.
func isMounted(path string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(path, &a) != nil || unix.Lstat(filepath.Dir(path), &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// unmountAll removes whatever the benchmark left on path.
func unmountAll(path string) {
	for range 32 {
		if !isMounted(path) {
			return
		}
		if err := unix.Unmount(path, 0); err != nil {
			_ = unix.Unmount(path, unix.MNT_DETACH)
		}
	}
}

// helperCase is one overlay count, ready to run: the start and stop helper
// on instance benchK, and mount(8)/umount(8) and the bare syscalls of the
// same lower layers on a mount point of its own.
type helperCase struct {
	b               *bench
	res             *helperResult
	merged, fmerged string
	start, stop     request
	mount8, umount8 request
	mount2, umount2 request
}

// prepareHelpers lays out instance benchK, warms it up (the first start
// creates runtime/NAME and stages into an empty upper, so every measured
// start is a restart, as after a crash or `systemctl restart`), checks what
// the start helper staged and takes the untimed peak-RSS runs.
func (b *bench) prepareHelpers(e *helperEnv, k int) (*helperCase, error) {
	name, text, cfgs := e.spec(k)
	if err := os.WriteFile(filepath.Join(e.etc, "instances", name+".yaml"), []byte(text), 0o644); err != nil {
		return nil, err
	}
	// The start plan, as the generator writes it at a daemon-reload.
	s, err := spec.Parse(name+".yaml", []byte(text))
	if err != nil {
		return nil, err
	}
	planDir := filepath.Join(b.scratch, "generator")
	plan := startplan.Path(planDir, name)
	if err := os.MkdirAll(filepath.Dir(plan), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(plan, startplan.Encode(s.StartPlan()), 0o600); err != nil {
		return nil, err
	}
	h := &helperCase{b: b, res: &helperResult{overlays: k, cfgs: cfgs}}
	// The environment l4d2@.service and its drop-in give the helpers.
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LEFT4ME_CONFIG_DIR=" + e.etc, "LEFT4ME_ROOT=" + e.root,
		startplan.DirEnv + "=" + planDir, "GOMAXPROCS=1",
		// Pinned on the tmpfs (umount -R in run.sh), not in the host's /run.
		prestart.IdmapPinsEnv + "=" + filepath.Join(b.scratch, "run", "idmap")}
	h.merged = filepath.Join(e.root, "runtime", name, "merged")
	errFile := filepath.Join(b.scratch, "helper.err")
	h.start = request{Op: "exec", Argv: []string{b.bin("left4me-prestart"), name}, Env: env, Stderr: errFile}
	h.stop = request{Op: "exec", Argv: []string{b.bin("left4me-poststop"), name}, Env: env, Stderr: errFile}

	// The floor: the same lowers, its own upper and work (overlayfs refuses
	// to share them), the same flags.
	fl := filepath.Join(b.scratch, "floor", name)
	for _, d := range []string{"upper", "work", "merged"} {
		if err := os.MkdirAll(filepath.Join(fl, d), 0o755); err != nil {
			return nil, err
		}
	}
	h.fmerged = filepath.Join(fl, "merged")
	opts := "lowerdir=" + e.lowers(k) + ",upperdir=" + filepath.Join(fl, "upper") + ",workdir=" + filepath.Join(fl, "work")
	h.mount8 = request{Op: "exec", Argv: []string{b.mount, "-t", "overlay", "-o", "nosuid,nodev," + opts, "overlay", h.fmerged},
		Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, Stderr: errFile}
	h.umount8 = request{Op: "exec", Argv: []string{b.umount, h.fmerged}, Env: h.mount8.Env, Stderr: errFile}
	h.mount2 = request{Op: "mount", Source: "overlay", Target: h.fmerged, FSType: "overlay",
		Flags: syscall.MS_NOSUID | syscall.MS_NODEV, Data: opts}
	h.umount2 = request{Op: "umount", Target: h.fmerged}

	r := h.res
	if err := h.pair(h.start, h.stop, nil, nil, h.merged, false); err != nil {
		return h, err
	}
	if err := h.pair(h.mount8, h.umount8, nil, nil, h.fmerged, false); err != nil {
		return h, err
	}
	staged, _ := filepath.Glob(filepath.Join(e.root, "runtime", name, "upper", "left4dead2", "cfg", "server*.cfg"))
	if len(staged) != 1+cfgs {
		return h, fmt.Errorf("start helper staged %d cfg files, want %d", len(staged), 1+cfgs)
	}
	for range peakRuns {
		if err := h.pair(h.start, h.stop, &r.start, &r.stop, h.merged, true); err != nil {
			return h, err
		}
		if err := h.pair(h.mount8, h.umount8, &r.mount8, &r.umount8, h.fmerged, true); err != nil {
			return h, err
		}
	}
	return h, nil
}

// pair mounts and unmounts once, checking that both happened; peak runs
// both untimed for their peak RSS.
func (h *helperCase) pair(up, down request, ups, downs *series, mp string, peak bool) error {
	if peak && up.Op == "exec" {
		up.Op, down.Op = "peak", "peak"
	}
	r, err := h.b.l.do(up)
	if err != nil {
		return err
	}
	if !isMounted(mp) {
		return fmt.Errorf("%s exited 0 but %s is not mounted", up.Argv, mp)
	}
	switch {
	case ups != nil && peak:
		ups.addPeak(r)
	case ups != nil:
		ups.add(r)
	}
	if r, err = h.b.l.do(down); err != nil {
		return err
	}
	if isMounted(mp) {
		return fmt.Errorf("%s exited 0 but %s is still mounted", down.Argv, mp)
	}
	switch {
	case downs != nil && peak:
		downs.addPeak(r)
	case downs != nil:
		downs.add(r)
	}
	return nil
}

// step is one timed iteration: the helpers' start+stop, then mount(8)+
// umount(8) and mount(2)+umount2(2), or the other way round on odd i.
func (h *helperCase) step(i int) error {
	r := h.res
	helpers := func() error { return h.pair(h.start, h.stop, &r.start, &r.stop, h.merged, false) }
	bare := func() error {
		if err := h.pair(h.mount8, h.umount8, &r.mount8, &r.umount8, h.fmerged, false); err != nil {
			return err
		}
		return h.pair(h.mount2, h.umount2, &r.mount2, &r.umount2, h.fmerged, false)
	}
	if i%2 == 1 {
		helpers, bare = bare, helpers
	}
	if err := helpers(); err != nil {
		return fmt.Errorf("%d overlays: %w", h.res.overlays, err)
	}
	if err := bare(); err != nil {
		return fmt.Errorf("%d overlays: %w", h.res.overlays, err)
	}
	return nil
}

func (h *helperCase) cleanup() {
	unmountAll(h.merged)
	unmountAll(h.fmerged)
}

// stepper is one thing timed once per iteration of benchHelpers.
type stepper interface{ step(i int) error }

// floorCase times a program that does nothing: the cost of one
// fork+exec+exit+reap, for a dynamic C binary and a static Go one.
type floorCase struct {
	b   *bench
	req request
	s   *series
}

func (f *floorCase) step(int) error {
	r, err := f.b.l.do(f.req)
	if err != nil {
		return err
	}
	f.s.add(r)
	return nil
}

func (b *bench) newFloor(argv0 string) (*floorCase, error) {
	f := &floorCase{b: b, s: &series{}, req: request{Op: "exec", Argv: []string{argv0},
		Env: []string{"PATH=/usr/bin:/bin"}, Stderr: filepath.Join(b.scratch, "floor.err")}}
	if _, err := b.l.do(f.req); err != nil { // warm-up
		return nil, err
	}
	peak := f.req
	peak.Op = "peak"
	for range peakRuns {
		r, err := b.l.do(peak)
		if err != nil {
			return nil, err
		}
		f.s.addPeak(r)
	}
	return f, nil
}

// benchHelpers times the start helper against mount(8) and the stop helper
// against umount(8) for every overlay count, and the process floors. All
// are interleaved (each iteration runs one step of each, in rotating
// order), so a burst of load on the machine lands on all of them alike.
func (b *bench) benchHelpers(e *helperEnv, ks []int, floors []*floorCase, iters int) ([]*helperResult, error) {
	var cases []*helperCase
	defer func() {
		for _, h := range cases {
			h.cleanup()
		}
	}()
	for _, k := range ks {
		h, err := b.prepareHelpers(e, k)
		if h != nil {
			cases = append(cases, h)
		}
		if err != nil {
			return nil, fmt.Errorf("%d overlays: %w", k, err)
		}
	}
	var all []stepper
	for _, h := range cases {
		all = append(all, h)
	}
	for _, f := range floors {
		all = append(all, f)
	}
	for i := range iters {
		for j := range all {
			if err := all[(i+j)%len(all)].step(i); err != nil {
				return nil, err
			}
		}
	}
	var out []*helperResult
	for _, h := range cases {
		out = append(out, h.res)
	}
	return out, nil
}
