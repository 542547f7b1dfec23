package prestart

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

// A start is refused, saying what and where, when the upper layer and the
// dumps hold more than the instance's disk ceiling (issue 26, item 9).
func TestStartRefusesOverDisk(t *testing.T) {
	e := newEnv(t, "")
	s, err := spec.Judge(e.c.Layout, "srv")
	if err != nil {
		t.Fatal(err)
	}
	p := s.StartPlan()
	p.Disk = 1 << 20
	if err := Start(e.c, "srv", p); err != nil {
		t.Fatalf("an empty instance: %v", err)
	}
	if err := Stop(e.c, "srv"); err != nil {
		t.Fatal(err)
	}
	mk(t, e.path("runtime/srv/upper/left4dead2/logs/big.log"), strings.Repeat("x", 700<<10), 0o644)
	mk(t, e.path("runtime/srv/dumps/crash/a.mdmp"), strings.Repeat("x", 400<<10), 0o644)
	err = Start(e.c, "srv", p)
	if !errors.Is(err, ErrDiskFull) {
		t.Fatalf("over the ceiling: %v", err)
	}
	for _, want := range []string{e.path("runtime/srv"), "more than the 1.0 MiB it may", "resources.disk in " + e.c.Layout.SpecPath("srv"), "left4me reset srv"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if mounted(t, e.c.Layout.MergedDir("srv")) {
		t.Errorf("mounted although refused")
	}
	if err := os.Remove(e.path("runtime/srv/upper/left4dead2/logs/big.log")); err != nil {
		t.Fatal(err)
	}
	if err := Start(e.c, "srv", p); err != nil {
		t.Fatalf("under the ceiling again: %v", err)
	}
	_ = Stop(e.c, "srv")
}

// A server that builds a tree deeper than the walk goes is over its
// ceiling, not unmeasured (it would escape it); the names it chose are
// quoted in the message, so a newline in one cannot forge a journal line
// (say, another instance's reason in a disk-full alert). With no ceiling
// there is nothing to hold it to: it is said, and fails nothing (the
// disk timer's unit would be failed every minute, by the server's doing).
func TestOverDiskTooDeep(t *testing.T) {
	for _, ceiling := range []int64{1 << 30, 0} {
		t.Run(fmt.Sprint(ceiling), func(t *testing.T) {
			e := newEnv(t, "")
			s, err := spec.Judge(e.c.Layout, "srv")
			if err != nil {
				t.Fatal(err)
			}
			p := s.StartPlan()
			p.Disk = ceiling
			if err := Start(e.c, "srv", p); err != nil {
				t.Fatal(err)
			}
			defer Stop(e.c, "srv")
			deep := e.path("runtime/srv/upper/x\n/var/lib/left4me/runtime/other: forged")
			for range maxUsageDepth + 2 {
				deep += "/d"
			}
			if err := os.MkdirAll(deep, 0o755); err != nil {
				t.Fatal(err)
			}
			var steps strings.Builder
			e.c.Log = &steps
			over, errs, err := OverDisk(e.c, t.TempDir(), func(string, string) (startplan.Plan, error) { return p, nil })
			if err != nil {
				t.Fatal(err)
			}
			if ceiling == 0 {
				if _, err := os.Stat(filepath.Join(e.c.Layout.RuntimeDir("srv"), layout.Usage)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the last measure stays, as if current: %v", err)
				}
				if len(over) != 0 || len(errs) != 0 || !strings.Contains(steps.String(), `srv: cannot be measured (`) || !strings.Contains(steps.String(), "too deep to measure") || strings.Contains(steps.String(), "\n/var/lib/left4me/runtime/other") {
					t.Errorf("no ceiling: over %v, errs %v, said:\n%s", over, errs, steps.String())
				}
				return
			}
			if len(over) != 1 || over[0] != "srv" {
				t.Errorf("over %v, errs %v", over, errs)
			}
			joined := errors.Join(errs...).Error()
			if !errors.Is(errors.Join(errs...), ErrDiskFull) || !errors.Is(errors.Join(errs...), ErrTooDeep) || strings.Contains(joined, "\n/var/lib/left4me/runtime/other") || !strings.Contains(joined, `upper/"x\n"/var`) || strings.Contains(joined, "\n") {
				t.Errorf("errors: %s", joined)
			}
		})
	}
}

// A running instance whose spec was removed (no start plan any more) is
// measured and recorded like the others and held to the host's ceilings
// (the generator's host plan): the disk timer neither fails on it (every
// minute, the host "degraded") nor skips it. So is one whose spec was made
// invalid (its plan holds only the errors). Without a host plan (an older
// generator's output) neither has a ceiling.
func TestOverDiskOrphan(t *testing.T) {
	for _, tc := range []struct {
		name string
		host *startplan.Plan // nil: none written
		own  *startplan.Plan // nil: none (removed)
		over bool
	}{
		{name: "no host plan"},
		{name: "within the host's ceiling", host: &startplan.Plan{Disk: 1 << 30}},
		{name: "over the host's ceiling", host: &startplan.Plan{Disk: 1}, over: true},
		{name: "its spec made invalid", host: &startplan.Plan{Disk: 1}, own: &startplan.Plan{Errors: []string{"bad"}}, over: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startedSrv(t)
			if err := os.Remove(e.path("runtime/srv/usage")); err != nil {
				t.Fatal(err)
			}
			// Started before the ceiling was recorded: the plans decide.
			if err := os.Remove(e.path("runtime/srv/ceiling")); err != nil {
				t.Fatal(err)
			}
			planDir := t.TempDir()
			if tc.host != nil {
				path := startplan.HostPath(planDir)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, startplan.Encode(*tc.host), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			over, errs, err := OverDisk(e.c, planDir, func(dir, name string) (startplan.Plan, error) {
				if tc.own != nil {
					return *tc.own, nil
				}
				return startplan.Read(startplan.Path(dir, name))
			})
			if err != nil {
				t.Fatal(err)
			}
			if tc.over {
				if len(over) != 1 || over[0] != "srv" || len(errs) != 1 || !errors.Is(errs[0], ErrDiskFull) || !strings.Contains(errs[0].Error(), "of the host's ceiling") {
					t.Fatalf("over %v, errs %v; want srv over its host ceiling", over, errs)
				}
			} else if len(over) != 0 || len(errs) != 0 {
				t.Fatalf("over %v, errs %v", over, errs)
			}
			if _, err := os.Stat(e.path("runtime/srv/usage")); err != nil {
				t.Errorf("not measured: %v", err)
			}
		})
	}
}

// startedSrv is an instance "srv" started (its overlay mounted) until
// the test ends.
func startedSrv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, "")
	s, err := spec.Judge(e.c.Layout, "srv")
	if err != nil {
		t.Fatal(err)
	}
	if err := Start(e.c, "srv", s.StartPlan()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Stop(e.c, "srv") })
	return e
}

// The disk timer holds a running server to the ceiling its start gave it
// (layout.Ceiling) when one lowered since in its spec or limits.yaml would
// stop it under its players; a raised one applies at once (an operator
// saving a server near its ceiling), and so does none.
func TestOverDiskKeepsStartCeiling(t *testing.T) {
	e := startedSrv(t)
	plan := func(disk int64) func(string, string) (startplan.Plan, error) {
		return func(string, string) (startplan.Plan, error) { return startplan.Plan{Disk: disk}, nil }
	}
	record := func(n string) {
		if err := os.WriteFile(e.path("runtime/srv/ceiling"), []byte(n+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, ok := rundir.Of(e.c.Layout, "srv").ReadCeiling(); !ok || n <= 1 {
		t.Fatalf("the start recorded ceiling %d, %v", n, ok)
	}
	for _, tt := range []struct {
		record string
		plan   int64
		over   bool
	}{
		{"", 1, false},        // the start's (the spec's, above the tree) over a lowered one
		{"1", 1 << 40, false}, // a raised one at once
		{"1", 0, false},       // and none
		{"1", 1, true},        // both below
		{"0", 1, false},       // started without a ceiling: none until it stops
	} {
		if tt.record != "" {
			record(tt.record)
		}
		over, errs, err := OverDisk(e.c, t.TempDir(), plan(tt.plan))
		if err != nil || (len(over) == 1) != tt.over || (len(errs) == 1) != tt.over || tt.over && !errors.Is(errs[0], ErrDiskFull) {
			t.Errorf("record %q, plan %d: over %v, errs %v, %v; want over %v", tt.record, tt.plan, over, errs, err, tt.over)
		}
	}
	// A plan that cannot be read is still said, whatever the record.
	_, errs, _ := OverDisk(e.c, t.TempDir(), func(string, string) (startplan.Plan, error) { return startplan.Plan{}, errors.New("unreadable") })
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "unreadable") {
		t.Errorf("an unreadable plan: %v", errs)
	}
}

// A server's private /tmp and /var/tmp (systemd's directories of root's,
// named for its unit and this boot) count against its ceiling; a
// look-alike someone else made, another unit's or another boot's do not.
func TestOverDiskPrivateTmp(t *testing.T) {
	const boot = "0123456789abcdef0123456789abcdef"
	e := startedSrv(t)
	if err := os.Remove(e.path("runtime/srv/ceiling")); err != nil { // the plan decides
		t.Fatal(err)
	}
	dir, err := unix.Open(e.path("runtime/srv"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := instanceUsage(dir, "srv")
	unix.Close(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmp, varTmp := t.TempDir(), t.TempDir()
	put := func(base, name string, size int, uid int) {
		d := filepath.Join(base, name, "tmp")
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "fill"), make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(base, name), uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	put(tmp, "systemd-private-"+boot+"-l4d2@srv.service-a1b2c3", 1<<20, 0)
	put(varTmp, "systemd-private-"+boot+"-l4d2@srv.service-d4e5f6", 1<<20, 0)
	// Not its own: none of these counts.
	put(tmp, "systemd-private-"+boot+"-l4d2@srv.service-zzzzzz", 64<<20, 65534)
	put(tmp, "systemd-private-"+boot+"-l4d2@srv2.service-a1b2c3", 64<<20, 0)
	put(tmp, "systemd-private-fedcba9876543210fedcba9876543210-l4d2@srv.service-a1b2c3", 64<<20, 0)
	// A mount on a look-alike of root's (a user's FUSE mount would refuse
	// root or never answer): not entered.
	mnt := filepath.Join(varTmp, "systemd-private-"+boot+"-l4d2@srv.service-mntmnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "mode=0700"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	put(varTmp, "systemd-private-"+boot+"-l4d2@srv.service-mntmnt", 64<<20, 0)
	e.c.PrivateTmp = PrivateTmp{Dirs: []string{tmp, varTmp}, BootID: boot}
	for _, tc := range []struct {
		ceiling int64
		over    bool
	}{
		{tree + 3<<20, false},
		{tree + 1<<20, true},
	} {
		over, errs, err := OverDisk(e.c, t.TempDir(), func(string, string) (startplan.Plan, error) {
			return startplan.Plan{Disk: tc.ceiling}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if tc.over != (len(over) == 1) || tc.over != (len(errs) == 1) {
			t.Fatalf("ceiling %d: over %v, errs %v", tc.ceiling, over, errs)
		}
		if tc.over && !strings.Contains(errs[0].Error(), "its private /tmp and /var/tmp 2.0 MiB and files it deleted but keeps open 0 B") {
			t.Errorf("message: %v", errs[0])
		}
		if used, _, _ := rundir.Of(e.c.Layout, "srv").ReadUsage(); used < tree+2<<20 || used > tree+3<<20 {
			t.Errorf("recorded %d bytes, want its tree's %d and about 2 MiB of temporary files", used, tree)
		}
	}
}

// A server swapping directories for links while the walk runs (a rename
// exchange, atomic) makes it skip what changed, never fail: a measure
// that fails would let the server escape its ceiling.
func TestUsageUnderSwaps(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		d := filepath.Join(dir, "d"+strconv.Itoa(i))
		if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/", filepath.Join(dir, "l"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i = (i + 1) % 50 {
			select {
			case <-stop:
				return
			default:
			}
			n := strconv.Itoa(i)
			_ = unix.Renameat2(unix.AT_FDCWD, filepath.Join(dir, "d"+n), unix.AT_FDCWD, filepath.Join(dir, "l"+n), unix.RENAME_EXCHANGE)
		}
	}()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for range 300 {
		if _, err := usage(fd, dir, 0, 0); err != nil {
			t.Errorf("usage: %v", err)
			break
		}
	}
	close(stop)
	<-done
}

// Empty files take no block but an inode each, of which ext4 has a fixed
// number: each entry counts at least its filesystem's bytes per inode, so
// a server cannot take every inode of the state root within its ceiling.
func TestUsageCountsInodes(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	floor, err := inodeCost(fd, dir)
	if err != nil {
		t.Fatal(err)
	}
	var s unix.Statfs_t
	if err := unix.Fstatfs(fd, &s); err != nil {
		t.Fatal(err)
	}
	if s.Files == 0 {
		t.Skip("a filesystem without an inode count (btrfs): nothing to ration")
	}
	if want := min(int64(s.Blocks)*s.Frsize/int64(s.Files), 64<<10); floor != want || floor <= 0 {
		t.Fatalf("inodeCost %d, want %d (size over inodes, at most 64 KiB)", floor, want)
	}
	const n = 200
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprint("empty", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	used, err := usage(fd, dir, 0, floor)
	if err != nil {
		t.Fatal(err)
	}
	if used != n*floor {
		t.Errorf("%d empty files count %d bytes, want %d (%d each)", n, used, n*floor, floor)
	}
	if plain, _ := usage(fd, dir, 0, 0); plain != 0 {
		t.Errorf("without a floor they count %d bytes, want 0 (st_blocks)", plain)
	}
	// What the start helper and the disk timer measure counts it too.
	inst := t.TempDir()
	if err := os.Rename(dir, filepath.Join(inst, "upper")); err != nil {
		t.Fatal(err)
	}
	ifd, err := unix.Open(inst, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ifd)
	if got, err := instanceUsage(ifd, inst); err != nil || got < n*floor {
		t.Errorf("instanceUsage %d (%v), want at least %d for %d empty files", got, err, n*floor, n)
	}
}
