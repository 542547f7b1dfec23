package prestart

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/startplan"
)

// The game's logs below an instance's tree (its upper layer before the
// mount, its merged directory while it runs), which pruneLogs bounds:
//
//   - left4dead2/logs/*.log: the engine's `log on` files, L<MMDD><NNN>.log,
//     in sv_logsdir ("logs" by default), below the game directory
//     (engine/sv_log.cpp: sv_logsdir, "Folder in the game directory where
//     server logs will be stored", default "logs");
//   - left4dead2/addons/sourcemod/logs/*.log: SourceMod's L<YYYYMMDD>.log
//     and errors_<YYYYMMDD>.log (its core.cfg's Logging; wiki.alliedmods.net
//     SourceMod Configuration);
//   - left4dead2/console.log: what -condebug appends to (the engine's
//     console debug file, in the game directory).
//
// Only regular files whose names match are removed; a directory, a link,
// a fifo or a socket among them is left alone and never followed. The
// directories themselves are reached with openat2 without links and
// without crossing into another mount, so nothing planted there leads
// outside the instance's tree.
var logPlaces = []struct {
	dir   string
	match func(name string) bool
}{
	{"left4dead2/logs", isLog},
	{"left4dead2/addons/sourcemod/logs", isLog},
	{"left4dead2", func(n string) bool { return n == "console.log" }},
}

func isLog(name string) bool { return strings.HasSuffix(name, ".log") && !strings.HasPrefix(name, ".") }

// maxLogEntries bounds the entries read from one log directory, so that a
// server that made millions of them cannot hold up a start; the rest wait
// for the next prune (each removes what it saw).
const maxLogEntries = 20000

// maxScanEntries bounds the entries of one log directory read per prune,
// logs or not (a million take about a second to read).
const maxScanEntries = 1000000

// LogBounds bound the logs of an instance: files older than Days days go,
// then the oldest until the rest hold at most Bytes. KeepNewest keeps each
// directory's newest file whatever its size: while the server runs it
// writes there, and removing an open file frees nothing.
type LogBounds struct {
	Days       int
	Bytes      int64
	KeepNewest bool
}

// LogsPruned is what pruneLogs did.
type LogsPruned struct {
	Removed   int
	Freed     int64
	Kept      int
	KeptBytes int64
	Notes     []string // places skipped and why, directories read in part
}

type logFile struct {
	dir   int // index into the open directories
	name  string
	mtime int64
	size  int64
}

// pruneLogs bounds the logs below root (an open upper layer or merged
// directory; what names it), as of now.
func pruneLogs(root int, what string, b LogBounds, now time.Time) (LogsPruned, error) {
	var res LogsPruned
	var fds []int
	defer func() { fsat.CloseAll(fds...) }()
	var files []logFile
	for _, place := range logPlaces {
		where := what + "/" + place.dir
		// No O_NOFOLLOW: RESOLVE_NO_SYMLINKS refuses a link with ELOOP, said as such.
		fd, err := fsat.OpenBeneath(root, place.dir, unix.O_RDONLY|unix.O_DIRECTORY, fsat.ResolveStrict|unix.RESOLVE_NO_XDEV, where)
		if err != nil {
			if !errors.Is(err, unix.ENOENT) && !errors.Is(err, os.ErrNotExist) {
				res.Notes = append(res.Notes, "skipped "+err.Error())
			}
			continue
		}
		fds = append(fds, fd)
		var names []string
		if place.dir == "left4dead2" {
			names = []string{"console.log"}
		} else {
			var full bool
			if names, full, err = readDirNamesMax(fd, maxLogEntries, place.match); err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("skipped %s: %v", where, err))
				continue
			} else if !full {
				res.Notes = append(res.Notes, fmt.Sprintf("%s: read its first %d logs (or %d entries) only", where, maxLogEntries, maxScanEntries))
			}
		}
		var here []logFile
		for _, n := range names {
			if !place.match(n) {
				continue
			}
			var st unix.Stat_t
			if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
				continue // gone, or not a regular file: never ours to remove
			}
			here = append(here, logFile{dir: len(fds) - 1, name: n, mtime: st.Mtim.Nano(), size: st.Blocks * 512})
		}
		if b.KeepNewest && len(here) > 0 {
			newest := 0
			for i, f := range here {
				if f.mtime > here[newest].mtime {
					newest = i
				}
			}
			// Kept, and counted in the total.
			res.Kept++
			res.KeptBytes += here[newest].size
			here = append(here[:newest], here[newest+1:]...)
		}
		files = append(files, here...)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mtime < files[j].mtime })
	var total int64
	for _, f := range files {
		total += f.size
	}
	total += res.KeptBytes
	cutoff := now.Add(-time.Duration(b.Days) * 24 * time.Hour).UnixNano()
	var errs []error
	for _, f := range files {
		old := b.Days > 0 && f.mtime < cutoff
		if !old && (b.Bytes <= 0 || total <= b.Bytes) {
			res.Kept++
			res.KeptBytes += f.size
			continue
		}
		// unlinkat never follows: if the server swapped the file for a
		// link meanwhile, the link goes, within its own tree.
		err := unix.Unlinkat(fds[f.dir], f.name, 0)
		switch {
		case err == nil:
			res.Removed++
			res.Freed += f.size
			total -= f.size
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.EISDIR):
			total -= f.size
		default:
			errs = append(errs, fmt.Errorf("remove %q: %w", f.name, err))
		}
	}
	return res, errors.Join(errs...)
}

// readDirNamesMax lists the names of the open directory dir that match,
// at most max of them, reading at most maxScanEntries entries: other
// names first in the directory's order cannot hide its logs from the
// prune (a server that fills logs/ with them), and a huge directory still
// ends. full is false when it stopped at either bound.
func readDirNamesMax(dir, max int, match func(string) bool) (names []string, full bool, err error) {
	buf := make([]byte, 8192)
	scanned := 0
	for len(names) < max && scanned < maxScanEntries {
		n, err := unix.ReadDirent(dir, buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		if n <= 0 {
			return names, true, nil
		}
		var batch []string
		_, _, batch = unix.ParseDirent(buf[:n], -1, batch)
		scanned += len(batch)
		for _, b := range batch {
			if match(b) && len(names) < max {
				names = append(names, b)
			}
		}
	}
	return names, false, nil
}

// logBounds are the plan's log bounds (its defaults for a plan without
// them, as written before they existed).
func logBounds(p startplan.Plan, keepNewest bool) LogBounds {
	b := LogBounds{Days: p.LogDays, Bytes: p.LogBytes, KeepNewest: keepNewest}
	if b.Days == 0 && b.Bytes == 0 {
		b.Days, b.Bytes = defaultLogDays, defaultLogBytes
	}
	return b
}

// The spec's defaults (spec.DefaultLogDays, DefaultLogSize), for plans
// that carry no bounds; prestart links no spec parser.
const (
	defaultLogDays  = 7
	defaultLogBytes = 256 << 20
)

// pruneLogsAt prunes below root (an open directory, what names it) and
// says what it did; a place skipped is said, not an error: a server's
// odd tree must not stop its start.
func pruneLogsAt(c Config, root int, what string, b LogBounds) error {
	res, err := pruneLogs(root, what, b, time.Now())
	for _, n := range res.Notes {
		c.step("logs: %s", n)
	}
	if res.Removed > 0 {
		c.step("logs: removed %d old log file(s) (%s) from %s, kept %d (%s; at most %d days and %s)",
			res.Removed, Size(res.Freed), what, res.Kept, Size(res.KeptBytes), b.Days, Size(b.Bytes))
	}
	if err != nil {
		return fmt.Errorf("prune logs in %s: %w", what, err)
	}
	return nil
}

// pruneMounted prunes a running instance's logs through its merged
// directory, under the instance lock (skipped while a start or stop holds
// it); dir is its open runtime/NAME.
func pruneMounted(c Config, name string, dir int, p startplan.Plan) error {
	what := c.Layout.RuntimeDir(name)
	lock, err := unix.Openat(dir, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", what, err)
	}
	defer unix.Close(lock)
	if err := layout.LockFD(lock, false, what); err != nil {
		if errors.Is(err, layout.ErrLocked) {
			return nil
		}
		return err
	}
	merged := c.Layout.MergedDir(name)
	root, err := fsat.OpenBeneath(dir, layout.Merged, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, fsat.ResolveStrict, merged)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	return pruneLogsAt(c, root, merged, logBounds(p, true))
}
