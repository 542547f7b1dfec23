package ovbuild

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
)

// Names below the state root.
const (
	OverlaysDir = layout.OverlaysName      // overlays/NAME: the current version
	BuildsDir   = layout.OverlayBuildsName // overlay-builds/NAME/ID: older versions
	// MarkerPrefix + NAME is a file made fresh (never hard-linked) in the
	// root of each version, holding its ID. Its inode, seen through an
	// instance's mounted overlay, tells the version the instance runs on.
	MarkerPrefix = ".left4me-overlay-"
	buildPrefix  = ".build-"
	lastBuild    = "last-build.json"
)

// Store is the overlays of a state root.
type Store struct {
	Root string
	// ConfigDir (/etc/left4me) is hidden from builders: specs there may
	// hold other instances' RCON passwords. Empty: nothing hidden.
	ConfigDir string
	// UnitActive tells whether a build unit still runs; nil: none does.
	UnitActive func(unit string) bool
}

// Current is overlays/NAME.
func (s Store) Current(name string) string { return filepath.Join(s.Root, OverlaysDir, name) }

// Dir is overlay-builds/NAME: one directory per overlay, also for one
// below a subdirectory of overlays/ (an imported workshop/maps keeps its
// versions in overlay-builds/workshop:maps; ':' is in no overlay path).
func (s Store) Dir(name string) string { return filepath.Join(s.Root, BuildsDir, flat(name)) }

// flat is name as one path component.
func flat(name string) string { return strings.ReplaceAll(name, "/", ":") }

// Old is the directory of an older version.
func (s Store) Old(name, id string) string { return filepath.Join(s.Dir(name), id) }

// BuildDir is overlay-builds/NAME/.build-ID, holding layer/ and scratch/.
func (s Store) BuildDir(name, id string) string { return filepath.Join(s.Dir(name), buildPrefix+id) }

// Marker is the marker's name in a version of overlay name.
func Marker(name string) string { return MarkerPrefix + flat(name) }

var idRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z(-[0-9]{1,3})?$`)

// ValidID reports whether id has the form YYYYMMDDTHHMMSSZ[-N].
func ValidID(id string) bool { return idRE.MatchString(id) }

// NewID names a version made at t, unique among name's versions and
// different from the last build's ID: a failed build leaves no directory,
// but its unit name and journal entries carry the ID, so two builds in one
// second must not share it.
func (s Store) NewID(name string, t time.Time) string {
	base := t.UTC().Format("20060102T150405Z")
	cur, _ := ReadMarker(s.Current(name), name)
	last, _ := s.LastResult(name)
	id := base
	for n := 2; ; n++ {
		_, e1 := os.Lstat(s.Old(name, id))
		_, e2 := os.Lstat(s.BuildDir(name, id))
		if errors.Is(e1, fs.ErrNotExist) && errors.Is(e2, fs.ErrNotExist) && cur != id && last.ID != id {
			return id
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// ReadMarker returns the version ID recorded in dir; "" when dir has no
// marker (an overlay made by hand).
func ReadMarker(dir, name string) (string, error) {
	p := filepath.Join(dir, Marker(name))
	st, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() || st.Size() > 64 {
		return "", fmt.Errorf("%s: not a version marker", p)
	}
	// Only root writes markers, after the scan made the layer root's: a
	// marker a builder planted in its own layer is not one.
	if dst, err := os.Lstat(dir); err != nil || st.Sys().(*syscall.Stat_t).Uid != 0 || dst.Sys().(*syscall.Stat_t).Uid != 0 || !dst.IsDir() {
		return "", fmt.Errorf("%s: not a version marker (not root's)", p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if !ValidID(id) {
		return "", fmt.Errorf("%s: invalid version %q", p, id)
	}
	return id, nil
}

// WriteMarker replaces any marker in dir by a new file holding id.
func WriteMarker(dir, name, id string) error {
	p := filepath.Join(dir, Marker(name))
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	_, err = f.WriteString(id + "\n")
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// Version is one version of an overlay.
type Version struct {
	ID      string // "" for a hand-made current directory without marker
	Path    string
	Current bool
}

// Name is the ID, or "(unversioned)".
func (v Version) Name() string {
	if v.ID == "" {
		return "(unversioned)"
	}
	return v.ID
}

// List returns the versions of overlay name, oldest first, current last
// (IDs are times, so the current one is also the newest).
func (s Store) List(name string) ([]Version, error) {
	var out []Version
	ents, err := os.ReadDir(s.Dir(name))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", s.Dir(name), err)
	}
	for _, e := range ents {
		if e.IsDir() && ValidID(e.Name()) {
			out = append(out, Version{ID: e.Name(), Path: s.Old(name, e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	cur := s.Current(name)
	st, err := os.Lstat(cur)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return out, nil
	case err != nil:
		return nil, fmt.Errorf("overlay %s: %w", cur, err)
	case !st.IsDir():
		return nil, fmt.Errorf("%s: not a directory (a link is refused by the start helper); move it away", cur)
	}
	id, err := ReadMarker(cur, name)
	if err != nil {
		return nil, err
	}
	return append(out, Version{ID: id, Path: cur, Current: true}), nil
}

// Names lists the overlays that have a current directory or versions.
func (s Store) Names() []string {
	seen := map[string]bool{}
	for _, d := range []string{OverlaysDir, BuildsDir} {
		ents, _ := os.ReadDir(filepath.Join(s.Root, d))
		for _, e := range ents {
			n := e.Name()
			if d == BuildsDir {
				n = strings.ReplaceAll(n, ":", "/") // an imported overlay's path
			}
			if e.IsDir() && ValidPath(n) == nil {
				seen[n] = true
			}
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lock takes the lock of all overlay builds and gc (a flock on
// overlay-builds/, created if missing): one at a time, so that two
// builders, which run as the same user, never run side by side.
func (s Store) Lock() (release func(), err error) {
	dir := filepath.Join(s.Root, BuildsDir)
	release, err = layout.TryLockMkdir(dir)
	if errors.Is(err, layout.ErrLocked) {
		return nil, fmt.Errorf("another overlay build or gc is running: %w; try again when it is done", err)
	}
	return release, err
}

// Switch makes the finished layer of build id the current version of
// overlay name: one renameat2(RENAME_EXCHANGE) swaps it with overlays/NAME
// (or a rename with RENAME_NOREPLACE makes it, the first time), so a start
// finds the old version or the new one, never none and never a mix. The
// old one is then moved to overlay-builds/NAME/OLD_ID (a hand-made one
// without marker gets the ID of its modification time) and the build
// directory removed. old is the ID the previous version got, "" if none.
func (s Store) Switch(name, id string) (old string, err error) {
	bd := s.BuildDir(name, id)
	layer := filepath.Join(bd, "layer")
	if got, err := ReadMarker(layer, name); err != nil || got != id {
		return "", fmt.Errorf("%s: no marker of version %s (%v); refusing to switch", layer, id, err)
	}
	parent, base, err := s.openParent(name)
	if err != nil {
		return "", err
	}
	defer unix.Close(parent)
	cur := s.Current(name)
	var st unix.Stat_t
	switch err := unix.Fstatat(parent, base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case errors.Is(err, unix.ENOENT):
		if err := unix.Renameat2(unix.AT_FDCWD, layer, parent, base, unix.RENAME_NOREPLACE); err != nil {
			return "", fmt.Errorf("move %s to %s: %w", layer, cur, err)
		}
		var serr error
		if err := unix.Fsync(parent); err != nil {
			serr = fmt.Errorf("sync %s: %w", filepath.Dir(cur), err)
		}
		return "", errors.Join(serr, fsat.RemoveTree(bd, fsat.RemoveOptions{Chmod: true}))
	case err != nil:
		return "", fmt.Errorf("%s: %w", cur, err)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return "", fmt.Errorf("%s: not a directory (a link is refused by the start helper); move it away", cur)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, layer, parent, base, unix.RENAME_EXCHANGE); err != nil {
		return "", fmt.Errorf("exchange %s with %s: %w", layer, cur, err)
	}
	// From here bd/layer holds the previous version: never removed on a
	// failure (CleanStale moves it to its place).
	serr := unix.Fsync(parent)
	if serr != nil {
		serr = fmt.Errorf("sync %s: %w", filepath.Dir(cur), serr)
	}
	old, rerr := s.retire(name, id)
	if err := errors.Join(serr, rerr); err != nil {
		return old, fmt.Errorf("%w: %w", ErrSwitched, err)
	}
	return old, nil
}

// ErrSwitched: the new version is current, but what follows the switch
// failed; the build directory holds the previous version and stays.
var ErrSwitched = errors.New("switched in, but the previous version was not put away (the next build or import does)")

// openParent opens the directory overlays/NAME is in, creating what is
// missing of overlays/A/... for an imported A/.../NAME, one component at
// a time from overlays/ without following a link or entering a mount:
// nothing outside overlays/ is ever created or renamed into. base is
// NAME's last component.
func (s Store) openParent(name string) (fd int, base string, err error) {
	root := filepath.Join(s.Root, OverlaysDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return -1, "", err
	}
	fd, err = unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("open %s: %w", root, err)
	}
	parts := strings.Split(name, "/")
	for i, p := range parts[:len(parts)-1] {
		if err := unix.Mkdirat(fd, p, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(fd)
			return -1, "", fmt.Errorf("create %s: %w", filepath.Join(root, filepath.Join(parts[:i+1]...)), err)
		}
		next, err := unix.Openat2(fd, p, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC, Resolve: scanResolve})
		unix.Close(fd)
		if err != nil {
			return -1, "", fmt.Errorf("%s: %w (a link or a mount is refused)", filepath.Join(root, filepath.Join(parts[:i+1]...)), err)
		}
		fd = next
	}
	return fd, parts[len(parts)-1], nil
}

// Nesting refuses overlay name where it would lie inside another overlay
// or hold one: a switch of the outer one moves the inner one with it (and
// a server that mounts the outer one sees the inner one's files). An
// overlay is a path with versions, a definition, or one a spec names
// (named).
func (s Store) Nesting(name string, named []string) error {
	isOverlay := func(p string) bool {
		if m, _ := ReadMarker(s.Current(p), p); m != "" {
			return true
		}
		if _, err := os.Lstat(s.Dir(p)); err == nil {
			return true
		}
		if s.ConfigDir != "" {
			if _, err := os.Lstat(filepath.Join(s.ConfigDir, "overlays", p+".yaml")); err == nil {
				return true
			}
		}
		for _, n := range named {
			if n == p {
				return true
			}
		}
		return false
	}
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		if p := strings.Join(parts[:i], "/"); isOverlay(p) {
			return fmt.Errorf("overlay %s would lie inside overlay %s (%s): an overlay cannot hold another; choose a path beside it", name, p, s.Current(p))
		}
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root, BuildsDir))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), flat(name)+":") {
			return fmt.Errorf("overlay %s would hold overlay %s: an overlay cannot hold another", name, strings.ReplaceAll(e.Name(), ":", "/"))
		}
	}
	for _, n := range named {
		if strings.HasPrefix(n, name+"/") {
			return fmt.Errorf("overlay %s would hold overlay %s, which a spec names: an overlay cannot hold another", name, n)
		}
	}
	return nil
}

// retire moves the previous version, which the exchange left in build
// id's layer/, to its own directory, and removes the build directory.
func (s Store) retire(name, id string) (string, error) {
	bd := s.BuildDir(name, id)
	layer := filepath.Join(bd, "layer")
	old, err := ReadMarker(layer, name)
	if err != nil {
		return "", err
	}
	if old == "" {
		t := time.Now()
		if st, err := os.Lstat(layer); err == nil {
			t = st.ModTime()
		}
		old = s.NewID(name, t)
		if err := WriteMarker(layer, name, old); err != nil {
			return "", err
		}
	}
	if err := os.Rename(layer, s.Old(name, old)); err != nil {
		return "", fmt.Errorf("move the previous version to %s: %w", s.Old(name, old), err)
	}
	return old, fsat.RemoveTree(bd, fsat.RemoveOptions{Chmod: true})
}

// CleanStale finishes or undoes what an interrupted build left: a build
// directory whose layer holds another version's marker was switched
// already (its layer is the previous version: moved to its place); any
// other build directory is an unfinished build and removed. Call it with
// the lock held.
func (s Store) CleanStale(name string) ([]string, error) {
	ps, _ := filepath.Glob(filepath.Join(s.Dir(name), buildPrefix+"*"))
	var done []string
	for _, bd := range ps {
		if strings.HasPrefix(filepath.Base(bd), trashPrefix) {
			if err := fsat.RemoveTree(bd, fsat.RemoveOptions{Chmod: true}); err != nil {
				return done, err
			}
			done = append(done, "removed "+bd+", which an interrupted gc left")
			continue
		}
		id := strings.TrimPrefix(filepath.Base(bd), buildPrefix)
		if s.UnitActive != nil && s.UnitActive(UnitName(name, id)) {
			// A builder still runs there (its CLI was killed): never
			// touch a directory it may write to.
			done = append(done, "left "+bd+" alone: its build unit "+UnitName(name, id)+" still runs (systemctl stop it)")
			continue
		}
		layer := filepath.Join(bd, "layer")
		if m, err := ReadMarker(layer, name); err == nil && m != "" && m != id && ValidID(id) {
			if _, err := s.retire(name, id); err != nil {
				return done, err
			}
			done = append(done, "moved the previous version "+m+" out of "+bd)
			continue
		}
		if err := fsat.RemoveTree(bd, fsat.RemoveOptions{Chmod: true}); err != nil {
			return done, err
		}
		done = append(done, "removed the unfinished build "+bd)
	}
	return done, nil
}

// Result is the record of the last build of an overlay.
type Result struct {
	ID       string    `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	OK       bool      `json:"ok"`
	// Outcome says more than OK: a build interrupted or stopped at a
	// limit did not fail of itself. Records older than it have none;
	// LastResult derives it from OK then.
	Outcome Outcome `json:"outcome"`
	Message string  `json:"message"`
	Unit    string  `json:"unit"`
}

// SaveResult records the last build's result.
func (s Store) SaveResult(name string, r Result) error {
	if err := os.MkdirAll(s.Dir(name), 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	return fsat.WriteFile(filepath.Join(s.Dir(name), lastBuild), append(b, '\n'), fsat.WriteOptions{Perm: 0o644})
}

// LastResult reads the record of the last build; ok is false when none.
func (s Store) LastResult(name string) (Result, bool) {
	var r Result
	b, err := os.ReadFile(filepath.Join(s.Dir(name), lastBuild))
	if err != nil || json.Unmarshal(b, &r) != nil {
		return r, false
	}
	if r.Outcome == "" {
		r.Outcome = Failed
		if r.OK {
			r.Outcome = Succeeded
		}
	}
	return r, true
}
