package prestart

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

// ErrDiskFull: the instance's upper layer and dumps hold more than its disk
// ceiling (resources.disk, or disk in limits.yaml).
var ErrDiskFull = errors.New("over its disk ceiling")

// ErrTooDeep: the tree is deeper than the walk goes, so what it holds
// cannot be measured; a server that builds one is treated as over its
// ceiling, or it would escape it.
var ErrTooDeep = errors.New("too deep to measure")

// maxUsageDepth bounds the walk of usage, as adopt's.
const maxUsageDepth = 128

// usage is the space below dirfd: the allocated blocks of every entry
// (st_blocks, as du(1) counts), links themselves and never their targets,
// and at least floor bytes an entry (inodeCost). A file hard-linked twice
// counts twice: the server can only overstate its own usage that way.
func usage(dirfd int, what string, depth int, floor int64) (int64, error) {
	if depth > maxUsageDepth {
		return 0, fmt.Errorf("%s: %w: deeper than %d directories", what, ErrTooDeep, maxUsageDepth)
	}
	list, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", what, err)
	}
	names, err := fsat.ReadDirNames(list)
	unix.Close(list)
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", what, err)
	}
	var total int64
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue
			}
			return 0, fmt.Errorf("stat %s: %w", fsat.Child(what, name), err)
		}
		total += max(st.Blocks*512, floor)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			// Removed, or swapped for a link or a file since the stat: the
			// server changed it under the walk, which must not make the
			// measure fail (a server that made it fail in a loop would
			// never be measured). What it is now is counted above or gone.
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				continue
			}
			return 0, fmt.Errorf("open %s: %w", fsat.Child(what, name), err)
		}
		n, err := usage(fd, fsat.Child(what, name), depth+1, floor)
		unix.Close(fd)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// inodeCost is what one entry counts at least below fd: the bytes per
// inode of its filesystem (size over inodes, statfs). ext4 makes a fixed
// number of inodes (one per 16 KiB by mkfs's default), and an empty file
// takes one and no block: ten million of them, 0 bytes by st_blocks,
// would leave no inode to any other server or the host. So counted, a
// server that fills its ceiling with empty files takes no larger share of
// the inodes than of the bytes. A filesystem that makes inodes as it goes
// (btrfs: no count) adds nothing. It is capped at maxInodeCost. A
// filesystem that cannot say is an error: the measure fails (and a server
// with a ceiling counts as over), never a floor of 0 as if all were well.
func inodeCost(fd int, what string) (int64, error) {
	var s unix.Statfs_t
	if err := unix.Fstatfs(fd, &s); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", what, err)
	}
	if s.Files == 0 {
		return 0, nil
	}
	return min(int64(s.Blocks)*s.Frsize/int64(s.Files), maxInodeCost), nil
}

// usageOf is usage of the tree at fd, each entry at least inodeCost.
func usageOf(fd int, what string) (int64, error) {
	floor, err := inodeCost(fd, what)
	if err != nil {
		return 0, err
	}
	return usage(fd, what, 0, floor)
}

// maxInodeCost bounds inodeCost: 64 KiB is mke2fs's largest ratio of its
// own (the "huge" type, over 16 TiB; mke2fs.conf). A filesystem made with
// fewer on purpose (-T largefile: one per MiB) holds big files; counting
// each small file of a server as a mebibyte would stop ordinary servers,
// so there the floor rations its inodes less than their share.
const maxInodeCost = 64 << 10

// InstanceUsage is what instance name's upper layer and dumps hold, in
// bytes; dir is its open runtime/NAME.
func instanceUsage(dir int, what string) (int64, error) {
	var total int64
	for _, part := range []string{layout.Upper, layout.Dumps} {
		fd, err := unix.Openat(dir, part, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("open %s/%s: %w", what, part, err)
		}
		n, err := usageOf(fd, what+"/"+part)
		unix.Close(fd)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// checkDisk measures what the instance holds, records it for list and
// status (layout.Usage), and refuses a start when that is more than
// ceiling bytes (0: no ceiling).
func checkDisk(c Config, name string, dir int, ceiling int64) error {
	what := c.Layout.RuntimeDir(name)
	used, err := instanceUsage(dir, what)
	if err != nil {
		return err
	}
	if err := recordUsage(dir, what, used, time.Now()); err != nil {
		return err
	}
	if ceiling <= 0 {
		return nil
	}
	if used > ceiling {
		return diskFull(c.Layout, name, used, ceiling)
	}
	c.step("disk: %s of %s in use", Size(used), Size(ceiling))
	return nil
}

// CheckDiskCeiling is the start's disk check without the start, for a
// restart's preflight (left4me start, restart): what instance name holds
// against ceiling bytes (0: none), measured afresh, recording nothing.
// No runtime/NAME yet holds nothing.
func CheckDiskCeiling(l layout.Layout, name string, ceiling int64) error {
	if ceiling <= 0 {
		return nil
	}
	what := l.RuntimeDir(name)
	dir, err := unix.Open(what, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	defer unix.Close(dir)
	used, err := instanceUsage(dir, what)
	if errors.Is(err, ErrTooDeep) {
		return fmt.Errorf("%s: %w: its upper layer cannot be measured, so it counts as over (%w)", what, ErrDiskFull, err)
	}
	if err != nil {
		return err
	}
	if used > ceiling {
		return diskFull(l, name, used, ceiling)
	}
	return nil
}

// recordUsage writes layout.Usage in the open runtime/NAME (root's; the
// server cannot reach it) by a rename, so a reader sees the old measure
// or the new one.
func recordUsage(dir int, what string, used int64, now time.Time) error {
	data := strconv.FormatInt(used, 10) + " " + strconv.FormatInt(now.Unix(), 10) + "\n"
	return replaceAt(dir, layout.Usage, []byte(data), what)
}

func diskFull(l layout.Layout, name string, used, ceiling int64) error {
	return fmt.Errorf("%s: %w: its upper layer and dumps hold %s, more than the %s it may (resources.disk in %s, or disk in %s/limits.yaml; each file counts at least its filesystem's bytes per inode); remove files from %s/upper, reset it (`left4me reset %s` removes all it wrote) or raise the ceiling",
		l.RuntimeDir(name), ErrDiskFull, Size(used), Size(ceiling), l.SpecPath(name), l.ConfigDir, l.RuntimeDir(name), name)
}

// tempFull is diskFull for a server that its private /tmp and /var/tmp,
// or files it deleted but keeps open, took over its ceiling: both go with
// its stop, so its next start passes.
func tempFull(l layout.Layout, name string, tree, temp, held, ceiling int64) error {
	return fmt.Errorf("%s: %w: its upper layer and dumps hold %s, its private /tmp and /var/tmp %s and files it deleted but keeps open %s, more than the %s it may; these go with this stop (systemd removes the temporary files, the open ones are closed), so it may be started again; if this repeats, one of its plugins fills the disk",
		l.RuntimeDir(name), ErrDiskFull, Size(tree), Size(temp), Size(held), Size(ceiling))
}

// hostDiskFull is diskFull for a server held to the host's ceiling: its
// spec is gone or invalid, so neither it nor reset is the way out.
func hostDiskFull(l layout.Layout, name string, used, ceiling int64) error {
	return fmt.Errorf("%s: %w: its upper layer and dumps hold %s, more than the %s of the host's ceiling (disk in %s/limits.yaml; each file counts at least its filesystem's bytes per inode), which holds it while it runs without a valid spec (%s); remove files from %s/upper, or stop it and restore its spec (or `left4me delete %s`)",
		l.RuntimeDir(name), ErrDiskFull, Size(used), Size(ceiling), l.ConfigDir, l.SpecPath(name), l.RuntimeDir(name), name)
}

// Size is n bytes for a person: 1.5 GiB, 300 MiB, 12 KiB.
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTP"[exp]) + "iB"
}

// HeldCeiling is the disk ceiling a running server is held to: its
// plan's (planned), unless the one its start gave it (started, when ok)
// is higher or none (0). A ceiling lowered since its start, in its spec
// or limits.yaml, waits for its next start, as its other limits: now it
// would stop it under its players. A raised one applies at once.
func HeldCeiling(started int64, ok bool, planned int64) int64 {
	if ok && planned > 0 && (started == 0 || started > planned) {
		return started
	}
	return planned
}

// ceilingText is a ceiling for a message: its size, or none (0).
func ceilingText(n int64) string {
	if n == 0 {
		return "none"
	}
	return Size(n)
}

// OverDisk is left4me-disk.timer's round over every mounted instance:
// it prunes its logs (through its merged directory, as the server sees
// them: the upper layer of a mounted overlay is not to be changed beneath
// it), measures and records what it holds, and checks that against its
// plan's disk ceiling (planDir, as l4d2@.service names it). It returns the
// instances over their ceiling, for left4me-disk.service to stop, and the
// errors met. A start or stop in progress (the instance lock taken) skips
// the prune; the measure takes no lock: it only reads.
func OverDisk(c Config, planDir string, planOf func(dir, name string) (startplan.Plan, error)) ([]string, []error, error) {
	names, err := rundir.MountedAll(c.Layout)
	if err != nil {
		return nil, nil, err
	}
	var over []string
	var errs []error
	tmp, err := c.PrivateTmp.index()
	if err != nil {
		errs = append(errs, err)
	}
	defer tmp.close()
	var procs map[string][]proc
	if c.Proc != "" {
		if procs, err = unitProcs(c.Proc); err != nil {
			errs = append(errs, err)
		}
		defer closeProcs(procs)
	}
	for _, name := range names {
		p, err := planOf(planDir, name)
		hostHeld := err != nil || len(p.Errors) > 0
		if errors.Is(err, fs.ErrNotExist) {
			// Its spec was removed while it runs (an orphan, until it
			// stops): held to the host's ceilings (limits.yaml), as a
			// spec that sets none would be.
			p, err = hostPlan(c, planDir, name, "its spec was removed while it runs")
		} else if err == nil && len(p.Errors) > 0 {
			p, err = hostPlan(c, planDir, name, "its spec was made invalid while it runs")
		}
		if n, ok := rundir.Of(c.Layout, name).ReadCeiling(); err == nil && HeldCeiling(n, ok, p.Disk) != p.Disk {
			c.step("%s: held to the ceiling its start gave it (%s) until it stops, not to the lower %s", name, ceilingText(n), Size(p.Disk))
			p.Disk, hostHeld = n, false
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		what := c.Layout.RuntimeDir(name)
		dir, err := unix.Open(what, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("open %s: %w", what, err))
			continue
		}
		if err := pruneMounted(c, name, dir, p); err != nil {
			errs = append(errs, err)
		}
		used, err := instanceUsage(dir, what)
		var temp int64
		var held int64 // in files deleted but kept open
		if err == nil {
			temp, err = tmp.usage(name)
			if err == nil {
				held, err = deletedOpen(procs[layout.Unit(name)])
			}
			used += temp + held
		}
		if err == nil {
			// A record that cannot be written (the state root's disk full)
			// is said, and the ceiling still checked.
			if rerr := recordUsage(dir, what, used, time.Now()); rerr != nil {
				errs = append(errs, rerr)
			}
		} else if errors.Is(err, ErrTooDeep) && p.Disk <= 0 {
			// The last measure would pass for today's: gone, so that list
			// and status show none.
			if rerr := unix.Unlinkat(dir, layout.Usage, 0); rerr != nil && !errors.Is(rerr, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("remove %s/%s: %w", what, layout.Usage, rerr))
			}
		}
		unix.Close(dir)
		switch {
		case err != nil && p.Disk > 0:
			// What it holds cannot be measured (too deep, or an error in its
			// tree or its private /tmp): over, or a server that made the
			// measure fail would escape its ceiling.
			over = append(over, name)
			errs = append(errs, fmt.Errorf("%s: %w: what it holds cannot be measured, so it counts as over (%w)", what, ErrDiskFull, err))
		case errors.Is(err, ErrTooDeep):
			// Of its own making, and with no ceiling nothing to hold it
			// to: said, and no failed unit every minute for it.
			c.step("%s: cannot be measured (%v); it has no disk ceiling, and shows no usage", name, err)
		case err != nil:
			errs = append(errs, err)
		case p.Disk > 0 && used > p.Disk && used-temp-held <= p.Disk:
			over = append(over, name)
			errs = append(errs, tempFull(c.Layout, name, used-temp-held, temp, held, p.Disk))
		case p.Disk > 0 && used > p.Disk:
			over = append(over, name)
			if hostHeld {
				errs = append(errs, hostDiskFull(c.Layout, name, used, p.Disk))
			} else {
				errs = append(errs, diskFull(c.Layout, name, used, p.Disk))
			}
		case p.Disk > 0:
			c.step("%s: %s of %s", name, Size(used), Size(p.Disk))
		default:
			c.step("%s: %s", name, Size(used))
		}
	}
	return over, errs, nil
}

// hostPlan is the generator's plan for a spec that sets no resources
// (spec.HostPlan), for name, which has no plan of its own (why); without
// one (a plan directory an older generator wrote), the defaults and no
// ceiling.
func hostPlan(c Config, planDir, name, why string) (startplan.Plan, error) {
	p, err := startplan.Read(startplan.HostPath(planDir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.step("%s: no start plan (%s): logs pruned by the defaults, no disk ceiling", name, why)
		return startplan.Plan{}, nil
	case err != nil:
		return p, fmt.Errorf("%s: %w", why, err)
	}
	c.step("%s: no start plan (%s): held to the host's ceilings (%s)", name, why, filepath.Join(c.Layout.ConfigDir, "limits.yaml"))
	return p, nil
}
