package safepath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/left4me/left4me/tests/testroot"
)

// user is an unprivileged uid: tests run as root and give files to it.
const user = 1000

// sticky is /tmp's mode (os.FileMode's sticky bit is not 0o1000).
const sticky = os.ModeSticky | 0o777

// node is one entry of a test tree below t.TempDir() (which is below
// /tmp, sticky and root's): a directory (name ending in /), a file, or a
// link (to set).
type node struct {
	name string
	mode os.FileMode
	uid  int
	to   string // a link's target, relative to the tree
}

func build(t *testing.T, base string, nodes []node) {
	t.Helper()
	for _, n := range nodes {
		p := filepath.Join(base, n.name)
		var err error
		switch {
		case n.to != "":
			err = os.Symlink(filepath.Join(base, n.to), p)
		case n.name[len(n.name)-1] == '/':
			err = os.Mkdir(p, 0o700)
		default:
			err = os.WriteFile(p, []byte("#!/bin/sh\n"), 0o600)
		}
		if err == nil && n.to == "" {
			err = os.Chmod(p, n.mode) // past the umask
		}
		if err == nil {
			err = os.Lchown(p, n.uid, -1)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheck(t *testing.T) {
	testroot.Require(t, "gives files to another user")
	for _, tc := range []struct {
		name  string
		tree  []node
		path  string // checked, relative to the tree
		at    string // the entry refused, relative to the tree; "" passes
		real  string // what passes, if not path
		noent bool
	}{
		{name: "root's", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o755, 0, ""}}, path: "d/f"},
		{name: "root's, private", tree: []node{{"d/", 0o700, 0, ""}, {"d/f", 0o600, 0, ""}}, path: "d/f"},
		{name: "world-writable file", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o757, 0, ""}}, path: "d/f", at: "d/f"},
		{name: "group-writable file", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o775, 0, ""}}, path: "d/f", at: "d/f"},
		{name: "a user's file", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o755, user, ""}}, path: "d/f", at: "d/f"},
		{name: "world-writable directory", tree: []node{{"d/", 0o777, 0, ""}, {"d/f", 0o755, 0, ""}}, path: "d/f", at: "d"},
		{name: "group-writable directory", tree: []node{{"d/", 0o775, 0, ""}, {"d/f", 0o755, 0, ""}}, path: "d/f", at: "d"},
		{name: "a user's directory", tree: []node{{"d/", 0o755, user, ""}, {"d/f", 0o755, 0, ""}}, path: "d/f", at: "d"},
		{name: "a directory further up", tree: []node{{"u/", 0o777, 0, ""}, {"u/d/", 0o755, 0, ""}, {"u/d/f", 0o755, 0, ""}}, path: "u/d/f", at: "u"},
		{name: "root's file in a sticky directory", tree: []node{{"d/", sticky, 0, ""}, {"d/f", 0o755, 0, ""}}, path: "d/f"},
		{name: "a user's file in a sticky directory", tree: []node{{"d/", sticky, 0, ""}, {"d/f", 0o755, user, ""}}, path: "d/f", at: "d/f"},
		{name: "a user's sticky directory", tree: []node{{"d/", sticky, user, ""}, {"d/f", 0o755, 0, ""}}, path: "d/f", at: "d"},
		{name: "a sticky file is no sticky directory", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", sticky, 0, ""}}, path: "d/f", at: "d/f"},
		{name: "link to root's", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o755, 0, ""}, {"l/", 0o755, 0, ""}, {"l/f", 0, 0, "d/f"}}, path: "l/f", real: "d/f"},
		{name: "link in a world-writable directory", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o755, 0, ""}, {"l/", 0o777, 0, ""}, {"l/f", 0, 0, "d/f"}}, path: "l/f", at: "l"},
		{name: "link to a world-writable file", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o777, 0, ""}, {"l/", 0o755, 0, ""}, {"l/f", 0, 0, "d/f"}}, path: "l/f", at: "d/f"},
		{name: "link into a world-writable directory", tree: []node{{"d/", 0o777, 0, ""}, {"d/f", 0o755, 0, ""}, {"l/", 0o755, 0, ""}, {"l/f", 0, 0, "d/f"}}, path: "l/f", at: "d"},
		{name: "a user's link in a sticky directory", tree: []node{{"d/", 0o755, 0, ""}, {"d/f", 0o755, 0, ""}, {"l/", sticky, 0, ""}, {"l/f", 0, user, "d/f"}}, path: "l/f", at: "l/f"},
		{name: "missing", tree: []node{{"d/", 0o755, 0, ""}}, path: "d/f", noent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			build(t, base, tc.tree)
			real, err := Check(filepath.Join(base, tc.path))
			var perr *Error
			switch {
			case tc.noent:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("got %q, %v; want not found", real, err)
				}
			case tc.at != "":
				if !errors.As(err, &perr) || perr.Path != filepath.Join(base, tc.at) {
					t.Fatalf("got %q, %v; want %s refused", real, err, tc.at)
				}
			case err != nil:
				t.Fatal(err)
			case real != filepath.Join(base, tc.real) && tc.real != "":
				t.Errorf("real %q, want %s", real, tc.real)
			}
		})
	}
}

// The message names the file, its owner and mode, and what to do.
func TestErrorSaysWhatToDo(t *testing.T) {
	err := &Error{Path: "/etc/left4me/update.env", Uid: 1000, Mode: 0o666}
	want := "/etc/left4me/update.env is owned by uid 1000 with mode 666; it decides what root runs, so it and the directories above it must be root's and writable by nobody else: chown root: /etc/left4me/update.env; chmod go-w /etc/left4me/update.env"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

// A relative path is checked up to "/", never looping at ".".
func TestCheckRelative(t *testing.T) {
	testroot.Require(t, "the test tree is root's")
	base := t.TempDir()
	build(t, base, []node{{"f", 0o755, 0, ""}})
	t.Chdir(base)
	if real, err := Check("f"); err != nil || real != filepath.Join(base, "f") {
		t.Errorf("got %q, %v", real, err)
	}
}
