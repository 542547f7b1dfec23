package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// bare is runtime/NAME with an empty upper layer.
func bare(t *testing.T) (runtime, up string) {
	t.Helper()
	runtime = filepath.Join(t.TempDir(), "runtime", "srv1")
	up = filepath.Join(runtime, "upper")
	must(t, os.MkdirAll(up, 0o755))
	return runtime, up
}

// Every file of the upper layer is in the backup, whatever its name: a
// name ending in -journal, -wal or -shm goes with its database when there
// is one, else on its own, never nowhere.
func TestNoFileLeftOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
	}{
		{"a journal's journal", []string{"x", "x-journal", "x-journal-journal"}},
		{"a log's shm", []string{"a", "a-wal", "a-wal-shm"}},
		{"a chain", []string{"db", "db-shm", "db-shm-wal", "db-shm-wal-journal", "db-shm-wal-journal-shm"}},
		{"every side of every side", []string{"d", "d-journal", "d-wal", "d-shm", "d-journal-wal", "d-wal-shm", "d-shm-journal"}},
		{"side files without a database", []string{"e-journal", "e-wal", "e-shm", "e-wal-shm"}},
		{"in a directory", []string{"sub/x", "sub/x-journal", "sub/x-journal-journal"}},
		{"a side directory", []string{"f", "f-wal/inside", "f-wal-shm"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime, up := bare(t)
			for _, f := range tc.files {
				write(t, filepath.Join(up, f), "content of "+f)
			}
			r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{})
			must(t, err)
			es := entries(t, r.Path)
			var missing []string
			for _, f := range tc.files {
				if h := es[f]; h == nil || h.Typeflag != tar.TypeReg || h.Size != int64(len("content of "+f)) {
					missing = append(missing, f)
				}
			}
			if len(missing) > 0 {
				t.Errorf("not in the backup: %v", missing)
			}
			if r.Files != int64(len(tc.files)) {
				t.Errorf("%d files, want %d", r.Files, len(tc.files))
			}
		})
	}
}

// A database gone between the listing and its copy leaves its side files
// to be copied on their own.
func TestSideFilesOfAVanishedDatabase(t *testing.T) {
	runtime, up := bare(t)
	write(t, filepath.Join(up, "a-first"), "1")
	write(t, filepath.Join(up, "db"), "db")
	write(t, filepath.Join(up, "db-journal"), "journal")
	gone := false
	r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{Changed: func(rel string) {
		if rel == "a-first" && !gone {
			gone = true
			must(t, os.Remove(filepath.Join(up, "db")))
		}
	}})
	must(t, err)
	if h := entries(t, r.Path)["db-journal"]; h == nil {
		t.Errorf("db-journal is not in the backup")
	}
}

// hasControl: s holds a byte that drives a terminal or ends a line.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return !utf8.ValidString(s)
}

// Names are the server's: an error never carries one raw to the terminal
// or the journal.
func TestNamesInErrorsAreQuoted(t *testing.T) {
	for _, evil := range []string{
		"evil\x1b]0;PWNED\a\x1b[2J",
		"x\nleft4me: srv2: backup failed: forged",
		"cr\rover",
		"bad\xffutf8",
	} {
		t.Run(strings.ToValidUTF8(evil, "?"), func(t *testing.T) {
			for _, tc := range []struct {
				name string
				file string // below upper/, evil is the name
			}{
				{"a file", "EVIL"},
				{"a file in a directory", "EVIL/f"},
				{"a directory's file", "d/EVIL"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					runtime, up := bare(t)
					rel := strings.ReplaceAll(tc.file, "EVIL", evil)
					tries := 0
					write(t, filepath.Join(up, rel), "data")
					_, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{Attempts: 2, Pause: 1, Changed: func(r string) {
						if r == rel {
							f, err := os.OpenFile(filepath.Join(up, r), os.O_WRONLY, 0)
							must(t, err)
							f.WriteString(strconv.Itoa(tries) + "rewritten") // in place, not appended
							tries++
							f.Close()
						}
					}})
					if !errors.Is(err, ErrChanged) {
						t.Fatalf("got %v, want a change", err)
					}
					if hasControl(err.Error()) {
						t.Errorf("the error carries the name raw: %q", err.Error())
					}
				})
			}
		})
	}
}

// A long name cannot have side files (NAME-journal is longer than a name
// may be): it is backed up like any other, and no backup fails on it.
func TestLongNames(t *testing.T) {
	for _, n := range []int{200, 246, 247, 248, 250, 251, 252, 255} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			runtime, up := bare(t)
			long := strings.Repeat("n", n)
			write(t, filepath.Join(up, long), "long")
			must(t, os.Mkdir(filepath.Join(up, "d"+long[1:]), 0o755))
			write(t, filepath.Join(up, "d"+long[1:], long), "deep")
			r, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{})
			if err != nil {
				t.Fatalf("a name of %d bytes: %v", n, err)
			}
			es := entries(t, r.Path)
			if es[long] == nil || es["d"+long[1:]+"/"+long] == nil {
				t.Errorf("a name of %d bytes is not in the backup", n)
			}
		})
	}
}

// A tree too deep to walk is refused, naming it quoted and saying how
// reset and delete go on without a backup.
func TestTooDeep(t *testing.T) {
	runtime, up := bare(t)
	p := up
	for i := 0; i <= maxDepth+1; i++ {
		name := "d"
		if i == maxDepth-2 {
			name = "e\nvil\x1b[2J"
		}
		p = filepath.Join(p, name)
		must(t, os.Mkdir(p, 0o755))
	}
	_, err := Create(runtime, filepath.Join(t.TempDir(), "b"), t0, Options{})
	if err == nil {
		t.Fatal("a tree deeper than maxDepth was backed up")
	}
	for _, want := range []string{"directories deep", "refusing to back it up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if hasControl(err.Error()) {
		t.Errorf("the error carries a name raw: %q", err.Error())
	}
}

// sparseArchive writes a backup holding one file of content.
func sparseArchive(t *testing.T, name string, content []byte) Info {
	t.Helper()
	return archiveWith(t, func(*tar.Header) []byte { return content },
		&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755},
		&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o640, Size: int64(len(content)), Uid: os.Getuid(), Gid: os.Getgid()})
}

// A restore writes runs of zeros as holes: what it puts on disk is no
// more than what the files hold, whatever their apparent size.
func TestRestoreSparse(t *testing.T) {
	const mib = 1 << 20
	data := func(at ...int) func(n int) []byte {
		return func(n int) []byte {
			b := make([]byte, n)
			for _, a := range at {
				if a < n {
					b[a] = 'x'
				}
			}
			return b
		}
	}
	for _, tc := range []struct {
		name      string
		size      int
		fill      func(int) []byte
		maxBlocks int64 // bytes allocated at most
	}{
		{"all zeros", 16 * mib, data(), 64 << 10},
		{"a byte at the end", 16 * mib, data(16*mib - 1), 256 << 10},
		{"bytes here and there", 16 * mib, data(0, 5*mib+3, 16*mib-1), 512 << 10},
		{"not a whole chunk", 16*mib + 100, data(16 * mib), 256 << 10},
		{"empty", 0, data(), 0},
		{"small", 10, data(3), 64 << 10},
		{"no zeros", 200 << 10, func(n int) []byte { return bytes.Repeat([]byte("y"), n) }, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime, up := bare(t)
			content := tc.fill(tc.size)
			must(t, Restore(context.Background(), runtime, sparseArchive(t, "f", content), RestoreOptions{}))
			got, err := os.ReadFile(filepath.Join(up, "f"))
			must(t, err)
			if !bytes.Equal(got, content) {
				t.Fatalf("restored %d bytes, not the %d backed up", len(got), len(content))
			}
			var st unix.Stat_t
			must(t, unix.Lstat(filepath.Join(up, "f"), &st))
			if st.Blocks*512 > tc.maxBlocks {
				t.Errorf("%d bytes allocated for %d of data, want at most %d", st.Blocks*512, tc.size, tc.maxBlocks)
			}
			if st.Mode&0o7777 != 0o640 || st.Size != int64(tc.size) {
				t.Errorf("mode %o size %d", st.Mode&0o7777, st.Size)
			}
		})
	}
}

// A restore still refuses to write through what is there (O_EXCL,
// O_NOFOLLOW): two entries of one name fail it.
func TestRestoreTwice(t *testing.T) {
	runtime, _ := bare(t)
	err := Restore(context.Background(), runtime, archive(t,
		&tar.Header{Name: "f", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"},
		&tar.Header{Name: "f", Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}), RestoreOptions{})
	if !errors.Is(err, unix.EEXIST) {
		t.Fatalf("got %v, want EEXIST", err)
	}
}

// Names in a backup are the server's too: a refused restore names them
// quoted.
func TestRestoreErrorQuoted(t *testing.T) {
	for _, evil := range []string{"evil\x1b]0;PWNED\a\x1b[2J", "x\nforged line", "bad\xff"} {
		runtime, _ := bare(t)
		err := Restore(context.Background(), runtime, archive(t,
			&tar.Header{Name: evil, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644},
			&tar.Header{Name: evil, Typeflag: tar.TypeReg, Size: 1, Mode: 0o644}), RestoreOptions{})
		if !errors.Is(err, unix.EEXIST) {
			t.Fatalf("%q: got %v, want EEXIST", evil, err)
		}
		if hasControl(err.Error()) {
			t.Errorf("the error carries the name raw: %q", err.Error())
		}
	}
}

// copySparse fails on what fails the read (a truncated backup), whatever
// chunk it falls in: a file is never restored shorter than backed up.
func TestCopySparse(t *testing.T) {
	zeros := func(n int) io.Reader { return bytes.NewReader(make([]byte, n)) }
	for _, tc := range []struct {
		name    string
		r       io.Reader
		size    int64
		wantErr bool
	}{
		{"zeros", zeros(3 * holeChunk), 3 * holeChunk, false},
		{"one byte at a time", iotest.OneByteReader(zeros(holeChunk + 7)), holeChunk + 7, false},
		{"data with EOF", iotest.DataErrReader(zeros(2*holeChunk + 1)), 2*holeChunk + 1, false},
		{"truncated in a hole", io.MultiReader(zeros(holeChunk+5), iotest.ErrReader(io.ErrUnexpectedEOF)), 0, true},
		{"truncated at a chunk", io.MultiReader(zeros(holeChunk), iotest.ErrReader(io.ErrUnexpectedEOF)), 0, true},
		{"a read error", iotest.TimeoutReader(zeros(3 * holeChunk)), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			must(t, err)
			defer f.Close()
			err = copySparse(f, tc.r)
			if (err != nil) != tc.wantErr {
				t.Fatalf("got %v, want an error: %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			st, err := f.Stat()
			must(t, err)
			if st.Size() != tc.size {
				t.Errorf("size %d, want %d", st.Size(), tc.size)
			}
		})
	}
}

// A backup cut short (a full disk when it was written) fails the
// restore, which leaves the upper layer as it was.
func TestRestoreTruncated(t *testing.T) {
	runtime, up := bare(t)
	write(t, filepath.Join(up, "keep"), "old")
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	must(t, tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4 * holeChunk}))
	_, err := tw.Write(make([]byte, 4*holeChunk))
	must(t, err)
	must(t, tw.Close())
	path := filepath.Join(t.TempDir(), "20261205T190000Z.tar.gz")
	f, err := os.Create(path)
	must(t, err)
	gz := gzip.NewWriter(f)
	_, err = gz.Write(raw.Bytes()[:512+2*holeChunk+100]) // the header, half the data
	must(t, err)
	must(t, errors.Join(gz.Close(), f.Close()))
	if err := Restore(context.Background(), runtime, Info{ID: "20261205T190000Z", Path: path}, RestoreOptions{}); err == nil {
		t.Fatal("a truncated backup was restored")
	}
	if b, err := os.ReadFile(filepath.Join(up, "keep")); err != nil || string(b) != "old" {
		t.Errorf("the upper layer changed: %q %v", b, err)
	}
}
