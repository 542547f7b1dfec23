package versions

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/prestart/fsat"
)

// Switch makes `installation` a link to installations/ID: a new relative
// link is made under a temporary name and renamed over the old one, which
// rename(2) does atomically, so a starting instance finds the old version
// or the new one, never none. Running instances keep the directory they
// mounted. A legacy `installation` directory is first moved into the
// store as a version of its own (migrated names it); in that one step a
// start could find no installation for a moment (and fail, to be
// restarted by systemd), because no single rename replaces a directory by
// a link.
func (s Store) Switch(id string) (migrated string, err error) {
	if !ValidID(id) {
		return "", fmt.Errorf("invalid version id %q", id)
	}
	if st, err := os.Lstat(s.Path(id)); err != nil || !st.IsDir() {
		return "", fmt.Errorf("version %s: not a directory in %s", id, s.Dir())
	}
	tmp := filepath.Join(s.Root, linkTmpPrefix+id)
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("remove %s: %w", tmp, err)
	}
	if err := os.Symlink(Dir+"/"+id, tmp); err != nil {
		return "", fmt.Errorf("create link %s: %w", tmp, err)
	}
	cur, err := s.Current()
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	if cur.Legacy {
		migrated = s.NewID(legacyBuild(cur.Path), legacyTime(cur.Path))
		if err := os.Rename(cur.Path, s.Path(migrated)); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("move the unversioned %s to %s: %w", cur.Path, s.Path(migrated), err)
		}
	}
	if err := os.Rename(tmp, s.LinkPath()); err != nil {
		os.Remove(tmp)
		if migrated != "" { // put the old installation back
			os.Rename(s.Path(migrated), cur.Path)
		}
		return "", fmt.Errorf("switch %s to %s: %w", s.LinkPath(), id, err)
	}
	return migrated, fsat.SyncDir(s.Root)
}

// legacyBuild is the build of an unversioned installation, 0 if unknown.
func legacyBuild(dir string) string {
	if m, err := steamcmd.ReadManifest(dir); err == nil {
		return m.BuildID
	}
	return "0"
}

// legacyTime is when an unversioned installation was last updated.
func legacyTime(dir string) time.Time {
	if m, err := steamcmd.ReadManifest(dir); err == nil && !m.LastUpdated.IsZero() {
		return m.LastUpdated
	}
	if st, err := os.Stat(dir); err == nil {
		return st.ModTime()
	}
	return time.Unix(0, 0)
}
