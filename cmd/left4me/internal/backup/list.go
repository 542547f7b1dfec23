package backup

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ListWhy is List with each backup's Why, read from its header.
func ListWhy(dir string) ([]Info, error) {
	all, err := List(dir)
	for i := range all {
		all[i].Why = why(all[i].Path)
	}
	return all, err
}

// List gives the backups in dir, oldest first; a missing dir has none.
// Files not named like a backup are not listed. Their Why is not read
// (ListWhy): a metrics scrape lists every instance's backups.
func List(dir string) ([]Info, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	var out []Info
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), Suffix)
		if !ok || !ValidID(id) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		t, _ := time.Parse("20060102T150405Z", id[:16])
		out = append(out, Info{ID: id, Time: t, Size: fi.Size(), Path: filepath.Join(dir, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return suffixN(out[i].ID) < suffixN(out[j].ID)
	})
	return out, nil
}

// why is the gzip comment of backup file p (Options.Why), "" if none or
// unreadable: only the header is read.
func why(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	gz, err := gzip.NewReader(io.LimitReader(f, 64<<10))
	if err != nil {
		return ""
	}
	return gz.Comment
}

func suffixN(id string) int {
	_, s, ok := strings.Cut(id, "-")
	if !ok {
		return 1
	}
	n, _ := strconv.Atoi(s)
	return n
}

// Find is the backup id in dir; "" is the newest one not taken before a
// restore (BeforeRestore), or the newest if all were.
func Find(dir, id string) (Info, error) {
	all, err := ListWhy(dir)
	if err != nil {
		return Info{}, err
	}
	if len(all) == 0 {
		return Info{}, fmt.Errorf("%w: %s holds none", ErrNone, dir)
	}
	if id == "" {
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Why != BeforeRestore {
				return all[i], nil
			}
		}
		return all[len(all)-1], nil
	}
	for _, b := range all {
		if b.ID == id {
			return b, nil
		}
	}
	return Info{}, fmt.Errorf("%w: %s in %s (see left4me backups)", ErrNone, id, dir)
}
