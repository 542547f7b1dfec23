package ovbuild

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// srcTree is a directory as an operator or a deploy tool leaves it: a
// file with its own mode and time, a nested directory, a link inside and
// one pointing out of it (at a secret the copy must never read).
func srcTree(t *testing.T) (src, secret string) {
	t.Helper()
	src = t.TempDir()
	secret = filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(secret, []byte("password"), 0o600))
	must(t, os.MkdirAll(filepath.Join(src, "left4dead2/cfg"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "left4dead2/cfg/server.cfg"), []byte("sv_x 1\n"), 0o640))
	old := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	must(t, os.Chtimes(filepath.Join(src, "left4dead2/cfg/server.cfg"), old, old))
	must(t, os.WriteFile(filepath.Join(src, "left4dead2/run.sh"), []byte("#!/bin/sh\n"), 0o4755))
	must(t, os.Symlink("cfg/server.cfg", filepath.Join(src, "left4dead2/inside")))
	must(t, os.Symlink(secret, filepath.Join(src, "left4dead2/outside")))
	must(t, os.Symlink(filepath.Dir(secret), filepath.Join(src, "left4dead2/dirlink")))
	return src, secret
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestImport(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the check makes the copy root's: run as root (CI does)")
	}
	for _, name := range []string{"comp", "workshop/maps"} {
		t.Run(name, func(t *testing.T) {
			s := Store{Root: t.TempDir()}
			src, secret := srcTree(t)
			var out bytes.Buffer
			old, err := s.Import(name, src, nil, &out)
			if err != nil || old != "" {
				t.Fatalf("first import: %q, %v\n%s", old, err, &out)
			}
			cur := s.Current(name)
			b, err := os.ReadFile(filepath.Join(cur, "left4dead2/cfg/server.cfg"))
			if err != nil || string(b) != "sv_x 1\n" {
				t.Fatalf("server.cfg: %q, %v", b, err)
			}
			st, err := os.Lstat(filepath.Join(cur, "left4dead2/cfg/server.cfg"))
			if err != nil || st.Mode().Perm() != 0o640 || st.ModTime().Year() != 2024 || st.Sys().(*syscall.Stat_t).Uid != 0 {
				t.Errorf("server.cfg: mode %v, time %v, %v", st.Mode(), st.ModTime(), err)
			}
			if st, _ := os.Lstat(filepath.Join(cur, "left4dead2/run.sh")); st.Mode()&os.ModeSetuid != 0 {
				t.Errorf("run.sh kept its setuid bit: %v", st.Mode())
			}
			for link, target := range map[string]string{"inside": "cfg/server.cfg", "outside": secret, "dirlink": filepath.Dir(secret)} {
				if got, err := os.Readlink(filepath.Join(cur, "left4dead2", link)); err != nil || got != target {
					t.Errorf("%s: %q, %v; want a link to %q", link, got, err, target)
				}
			}
			if !strings.Contains(out.String(), "left4dead2/outside -> "+secret+": link points outside the layer") {
				t.Errorf("the link out is not reported:\n%s", &out)
			}
			if id, err := ReadMarker(cur, name); err != nil || !ValidID(id) {
				t.Errorf("marker: %q, %v", id, err)
			}
			if r, ok := s.LastResult(name); !ok || !r.OK || !strings.Contains(r.Message, "imported from "+src) {
				t.Errorf("last result: %+v", r)
			}
			if ns := s.Names(); !contains(ns, name) {
				t.Errorf("Names() = %v, lacks %s", ns, name)
			}

			// The next import is a new version; the first one is kept
			// whole for the servers that run on it.
			first, _ := ReadMarker(cur, name)
			must(t, os.WriteFile(filepath.Join(src, "left4dead2/cfg/server.cfg"), []byte("sv_x 2\n"), 0o644))
			old, err = s.Import(name, src, nil, &out)
			if err != nil || old != first {
				t.Fatalf("second import: %q, %v, want %s", old, err, first)
			}
			if b, _ := os.ReadFile(filepath.Join(s.Old(name, first), "left4dead2/cfg/server.cfg")); string(b) != "sv_x 1\n" {
				t.Errorf("the earlier version changed: %q", b)
			}
			if b, _ := os.ReadFile(filepath.Join(cur, "left4dead2/cfg/server.cfg")); string(b) != "sv_x 2\n" {
				t.Errorf("the new version: %q", b)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A source the copy refuses leaves the current version and no build
// directory behind, and says which entry.
func TestImportRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("run as root (CI does)")
	}
	s := Store{Root: t.TempDir()}
	src, _ := srcTree(t)
	if _, err := s.Import("comp", src, nil, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	id, _ := ReadMarker(s.Current("comp"), "comp")
	fifo := filepath.Join(src, "left4dead2/cfg/pipe")
	must(t, syscall.Mkfifo(fifo, 0o644))
	_, err := s.Import("comp", src, nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), fifo+": a FIFO is not allowed in an overlay") || !strings.Contains(err.Error(), "the current version is unchanged") {
		t.Fatalf("import with a FIFO: %v", err)
	}
	if now, _ := ReadMarker(s.Current("comp"), "comp"); now != id {
		t.Errorf("current version %s, was %s", now, id)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir("comp"), buildPrefix+"*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if r, ok := s.LastResult("comp"); !ok || r.OK || !strings.Contains(r.Message, "FIFO") {
		t.Errorf("last result: %+v", r)
	}
	for _, bad := range []struct{ name, want string }{
		{"../etc", "invalid overlay path"},
		{"/abs", "invalid overlay path"},
		{strings.Repeat("a", 240), "longer than 238 characters"},
	} {
		if _, err := s.Import(bad.name, src, nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("import %q: %v, want %q", bad.name, err, bad.want)
		}
	}
	if _, err := s.Import("other", filepath.Join(src, "missing"), nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "missing: no such file") {
		t.Errorf("a missing source: %v", err)
	}
}

// An overlay never lies inside another or holds one, and the directories
// on the way to a nested one are walked without following a link: the
// hostile review's cases.
func TestImportNesting(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("run as root (CI does)")
	}
	src, _ := srcTree(t)
	outside := t.TempDir()
	for _, c := range []struct {
		name, setup string
		named       []string
		want        string
	}{
		{name: "a/b", setup: "versioned a", want: "overlay a/b would lie inside overlay a"},
		{name: "a/left4dead2", setup: "versioned a", want: "would lie inside overlay a"},
		{name: "a", setup: "versioned a/b", want: "overlay a would hold overlay a/b"},
		{name: "w/m", named: []string{"w"}, want: "overlay w/m would lie inside overlay w"},
		{name: "w", named: []string{"w/m"}, want: "overlay w would hold overlay w/m, which a spec names"},
		{name: "d/x/sub", setup: "link d/x", want: "(a link or a mount is refused)"},
		{name: "a/.left4me-overlay-a", want: "is the name of a version marker"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Store{Root: t.TempDir()}
			switch c.setup {
			case "versioned a":
				must(t, errOnly(s.Import("a", src, nil, &bytes.Buffer{})))
			case "versioned a/b":
				must(t, errOnly(s.Import("a/b", src, nil, &bytes.Buffer{})))
			case "link d/x":
				must(t, os.MkdirAll(filepath.Join(s.Root, "overlays/d"), 0o755))
				must(t, os.Symlink(outside, filepath.Join(s.Root, "overlays/d/x")))
			}
			before := treeOf(t, s.Root)
			_, err := s.Import(c.name, src, c.named, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("import %s: %v, want %q", c.name, err, c.want)
			}
			if ents, _ := os.ReadDir(outside); len(ents) > 0 {
				t.Errorf("written through the link: %v", ents)
			}
			if after := treeOf(t, s.Root); after != before && c.setup != "link d/x" {
				t.Errorf("the overlays changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
	// A link named as the source is not followed.
	link := filepath.Join(t.TempDir(), "src")
	must(t, os.Symlink(src, link))
	s := Store{Root: t.TempDir()}
	if _, err := s.Import("comp", link, nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not a directory (a link is not followed") {
		t.Errorf("a link as the source: %v", err)
	}
}

func errOnly(_ string, err error) error { return err }

// treeOf lists the overlays and their versions below root.
func treeOf(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	for _, d := range []string{OverlaysDir, BuildsDir} {
		filepath.Walk(filepath.Join(root, d), func(p string, fi os.FileInfo, err error) error {
			// The lock makes overlay-builds/ itself.
			if err == nil && !strings.Contains(p, "last-build.json") && p != filepath.Join(root, d) {
				b.WriteString(strings.TrimPrefix(p, root) + "\n")
			}
			return nil
		})
	}
	return b.String()
}

// A mount inside the source (a bind mount, or a user's FUSE mount that
// could stall the copy) is not entered: the import fails naming it.
func TestImportRefusesMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("run as root (CI does)")
	}
	src, _ := srcTree(t)
	elsewhere := t.TempDir()
	must(t, os.WriteFile(filepath.Join(elsewhere, "secret"), []byte("x"), 0o600))
	at := filepath.Join(src, "left4dead2/mnt")
	must(t, os.Mkdir(at, 0o755))
	if err := syscall.Mount(elsewhere, at, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("cannot bind-mount here: %v", err)
	}
	defer syscall.Unmount(at, syscall.MNT_DETACH)
	s := Store{Root: t.TempDir()}
	_, err := s.Import("comp", src, nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), "the current version is unchanged") {
		t.Fatalf("import across a mount: %v", err)
	}
	if _, err := os.Lstat(s.Current("comp")); err == nil {
		t.Error("switched in anyway")
	}
}
