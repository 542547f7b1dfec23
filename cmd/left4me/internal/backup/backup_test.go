package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/tests/testroot"
)

var t0 = time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, []byte(data), 0o644))
}

// fixture is runtime/NAME with an upper layer as a server leaves it.
func fixture(t *testing.T) (runtime, outside string) {
	t.Helper()
	base := t.TempDir()
	runtime = filepath.Join(base, "runtime", "srv1")
	up := filepath.Join(runtime, "upper")
	outside = filepath.Join(base, "secret")
	write(t, outside, "root's secret\n")
	write(t, filepath.Join(up, "left4dead2/addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3"), "SQLite format 3\x00db")
	write(t, filepath.Join(up, "left4dead2/addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3-journal"), "journal")
	write(t, filepath.Join(up, "left4dead2/logs/L1205000.log"), "L 12/05/2026 - 19:00:00: started\n")
	write(t, filepath.Join(up, "left4dead2/cfg/banned_user.cfg"), "banid 0 STEAM_1:0:1\n")
	must(t, os.Symlink(outside, filepath.Join(up, "left4dead2/link")))
	must(t, os.Chmod(filepath.Join(up, "left4dead2/cfg/banned_user.cfg"), 0o4640))
	must(t, unix.Mkfifo(filepath.Join(up, "left4dead2/fifo"), 0o644))
	if os.Geteuid() == 0 {
		must(t, unix.Mknod(filepath.Join(up, "left4dead2/deleted.txt"), unix.S_IFCHR|0o600, 0))
		must(t, os.Mkdir(filepath.Join(up, "left4dead2/opaque"), 0o755))
		must(t, unix.Setxattr(filepath.Join(up, "left4dead2/opaque"), opaqueXattr, []byte("y"), 0))
		must(t, os.Chown(filepath.Join(up, "left4dead2/cfg/banned_user.cfg"), 1234, 1235))
		must(t, os.Chown(up, 1234, 1235))
	}
	return runtime, outside
}

// entries reads an archive: name → content (links as "-> target").
func entries(t *testing.T, path string) map[string]*tar.Header {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(gz)
	out := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		out[h.Name] = h
	}
}

func TestRoundTrip(t *testing.T) {
	testroot.Require(t, "needs root (owners, whiteouts, trusted xattrs)")
	runtime, outside := fixture(t)
	dir := filepath.Join(filepath.Dir(filepath.Dir(runtime)), "backups", "srv1")
	r, err := Create(runtime, dir, t0, Options{})
	must(t, err)
	if r.ID != "20261205T190000Z" || r.Path != filepath.Join(dir, "20261205T190000Z.tar.gz") {
		t.Fatalf("got %+v", r.Info)
	}
	st, err := os.Stat(r.Path)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", st.Mode())
	}
	if len(r.Skipped) != 1 || r.Skipped[0] != "left4dead2/fifo" {
		t.Errorf("skipped %v, want the FIFO", r.Skipped)
	}
	es := entries(t, r.Path)
	if h := es["left4dead2/link"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != outside {
		t.Errorf("the link is not kept as a link: %+v", h)
	}
	for n, h := range es {
		if h.Size > 0 && strings.Contains(n, "secret") {
			t.Errorf("the link's target was read: %s", n)
		}
	}
	// A second backup in the same second gets its own ID.
	r2, err := Create(runtime, dir, t0, Options{})
	must(t, err)
	if r2.ID != "20261205T190000Z-2" {
		t.Errorf("second ID %q", r2.ID)
	}

	// The server changes things; the restore brings back the backup's.
	up := filepath.Join(runtime, "upper")
	write(t, filepath.Join(up, "left4dead2/cfg/banned_user.cfg"), "emptied\n")
	write(t, filepath.Join(up, "left4dead2/new.txt"), "new\n")
	must(t, Restore(context.Background(), runtime, r.Info, RestoreOptions{}))
	got, err := os.ReadFile(filepath.Join(up, "left4dead2/cfg/banned_user.cfg"))
	must(t, err)
	if string(got) != "banid 0 STEAM_1:0:1\n" {
		t.Errorf("restored content %q", got)
	}
	if _, err := os.Lstat(filepath.Join(up, "left4dead2/new.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file newer than the backup survived the restore: %v", err)
	}
	var s unix.Stat_t
	must(t, unix.Lstat(filepath.Join(up, "left4dead2/cfg/banned_user.cfg"), &s))
	if s.Uid != 1234 || s.Gid != 1235 || s.Mode&0o7777 != 0o640 {
		t.Errorf("owner %d:%d mode %o; want 1234:1235 0640 (no setuid)", s.Uid, s.Gid, s.Mode&0o7777)
	}
	must(t, unix.Lstat(up, &s))
	if s.Uid != 1234 {
		t.Errorf("upper/ belongs to %d, want the server's 1234", s.Uid)
	}
	must(t, unix.Lstat(filepath.Join(up, "left4dead2/deleted.txt"), &s))
	if s.Mode&unix.S_IFMT != unix.S_IFCHR || s.Rdev != 0 {
		t.Errorf("the whiteout is not restored: mode %o rdev %d", s.Mode, s.Rdev)
	}
	buf := make([]byte, 4)
	if n, err := unix.Getxattr(filepath.Join(up, "left4dead2/opaque"), opaqueXattr, buf); err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque mark not restored: %q %v", buf[:n], err)
	}
	if l, err := os.Readlink(filepath.Join(up, "left4dead2/link")); err != nil || l != outside {
		t.Errorf("link restored as %q %v", l, err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "root's secret\n" {
		t.Errorf("the link's target was written: %q", b)
	}
	for _, n := range []string{restoring} {
		if _, err := os.Lstat(filepath.Join(runtime, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind", n)
		}
	}
}

func TestUpperIsALink(t *testing.T) {
	runtime, outside := fixture(t)
	up := filepath.Join(runtime, "upper")
	must(t, os.RemoveAll(up))
	must(t, os.Symlink(filepath.Dir(outside), up))
	_, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{})
	if err == nil || !errors.Is(err, unix.ENOTDIR) {
		t.Fatalf("want a refusal of the link, got %v", err)
	}
}

// A file rewritten during its copy is copied again (its group, or the
// whole backup for a group too big for memory); one rewritten at every
// copy fails the backup, naming it. A file only appended to is kept as
// what it held when its copy began.
func TestChangedDuringCopy(t *testing.T) {
	const (
		cfg = "left4dead2/cfg/banned_user.cfg"
		log = "left4dead2/logs/L1205000.log"
		db  = "left4dead2/addons/sourcemod/data/sqlite/clientprefs-sqlite.sq3"
	)
	for _, tc := range []struct {
		name     string
		file     string
		how      string // append, rewrite (in place, longer), grow (append and rewrite the first byte), journal
		touches  int    // how many copies see a change
		stageMax int64  // 0: as it is
		want     error
		tries    int
		retries  int
		content  string // of file in the backup, "" not checked
	}{
		{"rewritten once", cfg, "rewrite", 1, 0, nil, 1, 1, "REWRITTEN banid 0 STEAM_1:0:1\n"},
		{"rewritten always", cfg, "rewrite", 1000, 0, ErrChanged, 0, 0, ""},
		{"rewritten while growing", cfg, "grow", 1000, 0, ErrChanged, 0, 0, ""},
		{"rewritten once, too big for memory", cfg, "rewrite", 1, 1, nil, 2, 0, "REWRITTEN banid 0 STEAM_1:0:1\n"},
		{"rewritten always, too big for memory", cfg, "rewrite", 1000, 1, ErrChanged, 0, 0, ""},
		{"a log that grows", log, "append", 1000, 0, nil, 1, 0, "L 12/05/2026 - 19:00:00: started\n"},
		{"any file that grows", cfg, "append", 1000, 0, nil, 1, 0, "banid 0 STEAM_1:0:1\n"},
		{"growing, too big for memory", cfg, "append", 1000, 1, nil, 1, 0, "banid 0 STEAM_1:0:1\n"},
		{"a journal appearing beside a database", db, "journal", 1, 0, nil, 1, 1, ""},
		{"a journal appearing, too big for memory", db, "journal", 1, 1, nil, 2, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime, _ := fixture(t)
			up := filepath.Join(runtime, "upper")
			journal := filepath.Join(up, db+"-journal")
			must(t, os.Remove(journal))
			n := 0
			o := Options{Pause: time.Millisecond, StageMax: tc.stageMax, Changed: func(rel string) {
				if rel != tc.file || n >= tc.touches {
					return
				}
				n++
				f, err := os.OpenFile(filepath.Join(up, rel), os.O_WRONLY, 0)
				must(t, err)
				defer f.Close()
				switch tc.how {
				case "journal": // a transaction begins
					write(t, journal, "hot journal")
				case "append":
					_, err = f.WriteAt([]byte("more\n"), 1<<20) // past a hole, even
				case "rewrite": // each time other bytes, longer than before
					_, err = f.WriteAt([]byte(strings.Repeat("RE", n)+"WRITTEN banid 0 STEAM_1:0:1\n"), 0)
				case "grow":
					_, err = f.WriteAt([]byte{byte(n)}, 0)
					if err == nil {
						_, err = f.WriteAt([]byte("more\n"), 100)
					}
				}
				must(t, err)
			}}
			r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tc.file) {
					t.Errorf("the error does not name %s: %v", tc.file, err)
				}
				return
			}
			if r.Tries != tc.tries || r.Retries != tc.retries {
				t.Errorf("%d tries, %d retries; want %d, %d", r.Tries, r.Retries, tc.tries, tc.retries)
			}
			if tc.content != "" {
				if got := content(t, r.Path, tc.file); got != tc.content {
					t.Errorf("%s in the backup: %.80q, want %q", tc.file, got, tc.content)
				}
			}
			es := entries(t, r.Path)
			if tc.how == "journal" && es[tc.file+"-journal"] == nil {
				t.Errorf("the database is kept without its journal")
			}
		})
	}
}

// content is name's content in the archive at path.
func content(t *testing.T, path, name string) string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	must(t, err)
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		must(t, err)
		if h.Name == name {
			b, err := io.ReadAll(tr)
			must(t, err)
			return string(b)
		}
	}
}

// The bound is on data: more of it than MaxBytes is refused, naming the
// file it was reached at; so are files longer than MaxLength together,
// holes included, saying why.
func TestTooLarge(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want []string
	}{
		{"data", Options{MaxBytes: 1 << 20}, []string{"more than 1048576 bytes of data", "big"}},
		{"length", Options{MaxLength: 1 << 30}, []string{"longer than 1073741824 bytes together, holes of sparse files included", "sparse", "truncate or remove"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime, up := bare(t)
			write(t, filepath.Join(up, "big"), strings.Repeat("x", 2<<20))
			f, err := os.Create(filepath.Join(up, "sparse"))
			must(t, err)
			must(t, f.Truncate(1<<40)) // a terabyte of nothing
			f.Close()
			dir := filepath.Join(t.TempDir(), "b")
			_, err = Create(runtime, dir, t0, tc.o)
			if err == nil {
				t.Fatal("backed up")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q: %v", w, err)
				}
			}
			if all, _ := os.ReadDir(dir); len(all) != 0 {
				t.Errorf("left behind: %v", all)
			}
		})
	}
}
