package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func TestMountsUnder(t *testing.T) {
	mi := filepath.Join(t.TempDir(), "mountinfo")
	text := `22 1 0:21 / / rw - ext4 /dev/root rw
40 22 0:35 / /var/lib/left4me/runtime/srv1/merged rw - overlay overlay rw,lowerdir=x
41 22 0:36 / /var/lib/left4me/runtime/srv10/merged rw - overlay overlay rw
`
	if err := os.WriteFile(mi, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := MountsUnder(mi, "/var/lib/left4me/runtime/srv1")
	if err != nil || !reflect.DeepEqual(got, []string{"/var/lib/left4me/runtime/srv1/merged"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := MountsUnder(filepath.Join(t.TempDir(), "none"), "/"); err == nil {
		t.Fatal("a missing mountinfo gave no error")
	}
}

// tree makes ROOT/runtime/NAME/{upper/left4dead2,merged,work} and a file
// outside it that a link inside points to.
func tree(t *testing.T) (root, outside string) {
	root = t.TempDir()
	rt := filepath.Join(root, "runtime", "srv1")
	for _, d := range []string{"upper/left4dead2", "merged", "work"} {
		if err := os.MkdirAll(filepath.Join(rt, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	outside = filepath.Join(root, "installation")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "srcds_run"), []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(rt, "upper", "evil")); err != nil {
		t.Fatal(err)
	}
	return root, outside
}

func emptyMountinfo(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRemove(t *testing.T) {
	root, outside := tree(t)
	r, err := Remove(root, "srv1", emptyMountinfo(t))
	if err != nil || !r.Existed {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := os.Stat(filepath.Join(root, "runtime", "srv1")); !os.IsNotExist(err) {
		t.Fatalf("runtime/srv1 still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "srcds_run")); err != nil {
		t.Fatalf("a link was followed out of the tree: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "runtime")); err != nil {
		t.Fatalf("runtime/ itself removed: %v", err)
	}
	r, err = Remove(root, "srv1", emptyMountinfo(t))
	if err != nil || r.Existed {
		t.Fatalf("second remove: %+v %v", r, err)
	}
}

// reset keeps, of runtime/NAME, the port record and the crash dumps (a
// directory, as it is: nothing in it followed); the rest goes, links not
// followed. A dumps that is a link or a file is no dumps directory: it is
// removed as anything else (a link never followed), not kept. A delete
// keeps nothing but counts the dumps it removes.
func TestRemoveKeeps(t *testing.T) {
	reset := []Keep{{Name: "ports"}, {Name: "dumps", Dir: true}}
	for _, tc := range []struct {
		name  string
		dumps string // "dir": two dumps and a link; "link": to a directory outside; "file"; "": none
		keep  []Keep
		left  []string // entries of runtime/NAME after; nil: it is gone
		kept  []string // Removed.Kept
		count int      // Removed.Dumps
	}{
		{"reset keeps dumps", "dir", reset, []string{"dumps", "ports"}, []string{"dumps", "ports"}, 3},
		{"reset, no dumps", "", reset, []string{"ports"}, []string{"ports"}, 0},
		{"reset, dumps a link", "link", reset, []string{"ports"}, []string{"ports"}, 0},
		{"reset, dumps a file", "file", reset, []string{"ports"}, []string{"ports"}, 0},
		{"ports only", "dir", []Keep{{Name: "ports"}}, []string{"ports"}, []string{"ports"}, 3},
		{"delete counts dumps", "dir", nil, nil, nil, 3},
		{"delete, dumps a link", "link", nil, nil, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, outside := tree(t)
			rt := filepath.Join(root, "runtime", "srv1")
			if err := os.WriteFile(filepath.Join(rt, "ports"), []byte("game 27015\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			dumps := filepath.Join(rt, "dumps")
			switch tc.dumps {
			case "dir":
				mustMkdir(t, dumps)
				for _, f := range []string{"crash1.dmp", "crash2.dmp"} {
					if err := os.WriteFile(filepath.Join(dumps, f), []byte("dump"), 0o640); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Symlink(outside, filepath.Join(dumps, "evil")); err != nil {
					t.Fatal(err)
				}
			case "link":
				if err := os.Symlink(outside, dumps); err != nil {
					t.Fatal(err)
				}
			case "file":
				if err := os.WriteFile(dumps, []byte("not a directory"), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			n, err := Dumps(root, "srv1")
			if err != nil || n != tc.count {
				t.Errorf("Dumps before: %d, %v; want %d", n, err, tc.count)
			}
			r, err := Remove(root, "srv1", emptyMountinfo(t), tc.keep...)
			if err != nil || !r.Existed {
				t.Fatalf("%+v %v", r, err)
			}
			slices.Sort(r.Kept)
			if r.Dumps != tc.count || !slices.Equal(r.Kept, tc.kept) {
				t.Errorf("got %+v, want kept %q and %d dumps", r, tc.kept, tc.count)
			}
			var left []string
			if ents, err := os.ReadDir(rt); err == nil {
				for _, e := range ents {
					left = append(left, e.Name())
				}
			} else if !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if !slices.Equal(left, tc.left) {
				t.Errorf("left %q, want %q", left, tc.left)
			}
			if slices.Contains(tc.left, "dumps") {
				st, err := os.Lstat(dumps)
				if err != nil || !st.IsDir() {
					t.Fatalf("dumps kept as %v (%v)", st, err)
				}
				ents, err := os.ReadDir(dumps)
				if err != nil || len(ents) != 3 {
					t.Errorf("dumps hold %v (%v)", ents, err)
				}
				if st, err := os.Lstat(filepath.Join(dumps, "evil")); err != nil || st.Mode()&os.ModeSymlink == 0 {
					t.Errorf("the link in dumps: %v %v", st, err)
				}
			}
			ents, err := os.ReadDir(outside)
			if err != nil || len(ents) != 1 {
				t.Fatalf("a link was followed out of the tree: %v (%v)", ents, err)
			}
		})
	}
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o750); err != nil {
		t.Fatal(err)
	}
}

// Dumps counts nothing through a link in place of runtime/NAME.
func TestDumpsNoLink(t *testing.T) {
	root, outside := tree(t)
	mustMkdir(t, filepath.Join(outside, "dumps"))
	if err := os.WriteFile(filepath.Join(outside, "dumps", "x.dmp"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "runtime", "srv2")); err != nil {
		t.Fatal(err)
	}
	if n, err := Dumps(root, "srv2"); n != 0 || err != nil {
		t.Errorf("through a link: %d %v", n, err)
	}
	if n, err := Dumps(root, "none"); n != 0 || err != nil {
		t.Errorf("missing: %d %v", n, err)
	}
}

func TestRemoveRefusesSymlinkedDir(t *testing.T) {
	root, outside := tree(t)
	if err := os.Symlink(outside, filepath.Join(root, "runtime", "srv2")); err != nil {
		t.Fatal(err)
	}
	if _, err := Remove(root, "srv2", emptyMountinfo(t)); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "srcds_run")); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveRefusesMounted(t *testing.T) {
	root, _ := tree(t)
	real, _ := filepath.EvalSymlinks(filepath.Join(root, "runtime", "srv1"))
	mi := filepath.Join(t.TempDir(), "mountinfo")
	line := "40 22 0:35 / " + real + "/merged rw - overlay overlay rw\n"
	if err := os.WriteFile(mi, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Remove(root, "srv1", mi)
	if !errors.Is(err, fail.ErrMounted) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "runtime", "srv1", "upper")); err != nil {
		t.Fatalf("removed although mounted: %v", err)
	}
}
