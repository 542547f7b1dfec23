package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
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
	removed, err := Remove(root, "srv1", emptyMountinfo(t), "")
	if err != nil || !removed {
		t.Fatalf("%v %v", removed, err)
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
	removed, err = Remove(root, "srv1", emptyMountinfo(t), "")
	if err != nil || removed {
		t.Fatalf("second remove: %v %v", removed, err)
	}
}

// A reset keeps one entry, the port record, and runtime/NAME with it;
// the rest goes, links not followed.
func TestRemoveKeeps(t *testing.T) {
	root, outside := tree(t)
	rt := filepath.Join(root, "runtime", "srv1")
	if err := os.WriteFile(filepath.Join(rt, "ports"), []byte("game 27015\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	removed, err := Remove(root, "srv1", emptyMountinfo(t), "ports")
	if err != nil || !removed {
		t.Fatalf("%v %v", removed, err)
	}
	ents, err := os.ReadDir(rt)
	if err != nil || len(ents) != 1 || ents[0].Name() != "ports" {
		t.Fatalf("left %v (%v)", ents, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "srcds_run")); err != nil {
		t.Fatalf("a link was followed out of the tree: %v", err)
	}
}

func TestRemoveRefusesSymlinkedDir(t *testing.T) {
	root, outside := tree(t)
	if err := os.Symlink(outside, filepath.Join(root, "runtime", "srv2")); err != nil {
		t.Fatal(err)
	}
	if _, err := Remove(root, "srv2", emptyMountinfo(t), ""); err == nil || !strings.Contains(err.Error(), "symbolic link") {
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
	_, err := Remove(root, "srv1", mi, "")
	if !errors.Is(err, fail.ErrMounted) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "runtime", "srv1", "upper")); err != nil {
		t.Fatalf("removed although mounted: %v", err)
	}
}
