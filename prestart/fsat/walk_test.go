package fsat

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Walk shows every entry once, a link as a link, and never goes through
// one: what lies behind a link to a directory elsewhere is not visited.
func TestWalkFollowsNoLink(t *testing.T) {
	top, outside := t.TempDir(), t.TempDir()
	for _, p := range []string{"a/b/c.txt", "d.txt"} {
		if err := os.MkdirAll(filepath.Join(top, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(top, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(top, "a/out")); err != nil {
		t.Fatal(err)
	}
	var seen []string
	err := Walk(top, func(e Entry) error {
		rel := strings.TrimPrefix(strings.TrimPrefix(e.Path, top), "/")
		seen = append(seen, rel+":"+TypeName(e.Stat.Mode))
		// Dir and Name reach the very entry.
		var st unix.Stat_t
		name, flags := e.At(unix.AT_SYMLINK_NOFOLLOW)
		if err := unix.Fstatat(e.Dir, name, &st, flags); err != nil || st.Ino != e.Stat.Ino {
			t.Errorf("%s: fstatat through the entry: %v", e.Path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(seen)
	want := ":directory a/b/c.txt:regular file a/b:directory a/out:symbolic link a:directory d.txt:regular file"
	if got := strings.Join(seen, " "); got != want {
		t.Errorf("walked %s\nwant   %s", got, want)
	}
}
