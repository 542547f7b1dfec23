package commands

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/web"
	"github.com/left4me/left4me/tests/testroot"
)

// An edit rewrites the spec, which makes it the newest: enable and the
// web panel's save judge the result as the generator will, so an edit of
// a (holding 27015) while c (newer) also claims 27015 is refused rather
// than handing a's port to c at the reload; and so is a spec over the
// host's ceilings.
func TestEditsJudgedLikeGenerator(t *testing.T) {
	te := newEnv(t)
	a := te.spec(t, "a", "port: 27015\n")
	te.spec(t, "c", "port: 27015\n")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(a, old, old); err != nil {
		t.Fatal(err)
	}
	want := `port: 27015 is already used by instance "c"`
	if err := te.run("enable", "a"); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("enable a: %v", err)
	}
	if err := te.saveSpec(context.Background(), "a", []byte("# a comment\nport: 27015\n")); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("save a: %v", err)
	}
	if err := te.saveSpec(context.Background(), "c", []byte("port: 27016\nresources: {memory_max: 64G}\n")); err == nil || !strings.Contains(err.Error(), "memory_max") {
		t.Errorf("save c over the ceiling: %v", err)
	}
	if b := readFile(t, a); b != "port: 27015\n" {
		t.Errorf("a was written: %q", b)
	}
	if b := readFile(t, te.Layout.SpecPath("c")); b != "port: 27015\n" {
		t.Errorf("c was written: %q", b)
	}
	// What the generator accepts is written.
	if err := te.saveSpec(context.Background(), "c", []byte("port: 27016\n")); err != nil {
		t.Fatalf("save c on its own port: %v", err)
	}
	if b := readFile(t, te.Layout.SpecPath("c")); b != "port: 27016\n" {
		t.Errorf("c: %q", b)
	}
}

// The web editor's live check is saving's judgement: a port a running
// server holds (it was started with it; its spec says another since)
// shows in the editor, not only at the save.
func TestWebCheckJudgesLikeSave(t *testing.T) {
	testroot.Require(t, "a running server's claim is a root-owned record and a mount")
	te := newEnv(t)
	te.spec(t, "b", "port: 27020\n")
	rt := te.Layout.RuntimeDir("b")
	mkdirs(t, filepath.Join(rt, "merged"))
	writeFile(t, filepath.Join(rt, "ports"), "game 27015\nclient 27016\n")
	if err := unix.Mount("tmpfs", filepath.Join(rt, "merged"), "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(filepath.Join(rt, "merged"), unix.MNT_DETACH) })
	te.spec(t, "srv1", "port: 27030\n")
	text := []byte("port: 27015\n")
	c := web.CheckSpec("srv1", te.Layout.SpecPath("srv1"), te.Layout.InstancesDir(), text, te.judgeSpec)
	saved := te.saveSpec(context.Background(), "srv1", text)
	if c.Valid || len(c.Problems) == 0 || !strings.Contains(c.Problems[0].Text, "27015") || saved == nil {
		t.Errorf("check %+v; save %v", c, saved)
	}
}
