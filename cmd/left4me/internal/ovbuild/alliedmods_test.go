package ovbuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one member of a fake AlliedModders archive.
type entry struct {
	name, body, link string
	typ              byte
	uname            string // the owner's name as stored (tar -tv shows it)
}

// tgz builds a .tar.gz laid out like AlliedModders' Linux builds.
func tgz(t *testing.T, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typ, Linkname: e.link, Uname: e.uname}
		switch e.typ {
		case 0:
			h.Typeflag = tar.TypeReg
		case tar.TypeDir:
			h.Mode, h.Size = 0o755, 0
		case tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

var (
	sourcemodTree = []entry{
		{name: "addons/", typ: tar.TypeDir},
		{name: "addons/sourcemod/", typ: tar.TypeDir},
		{name: "addons/sourcemod/plugins/", typ: tar.TypeDir},
		{name: "addons/sourcemod/plugins/basecommands.smx", body: "smx"},
		{name: "addons/metamod/", typ: tar.TypeDir},
		{name: "addons/metamod/sourcemod.vdf", body: "\"Metamod Plugin\" {}"},
		{name: "cfg/", typ: tar.TypeDir},
		{name: "cfg/sourcemod/", typ: tar.TypeDir},
		{name: "cfg/sourcemod/sourcemod.cfg", body: "sm_show_activity 13"},
	}
	metamodTree = []entry{
		{name: "addons/", typ: tar.TypeDir},
		{name: "addons/metamod.vdf", body: "\"Plugin\" { \"file\" \"../left4dead2/addons/metamod/bin/server\" }"},
		{name: "addons/metamod/bin/server.so", body: "elf"},
	}
)

// dropServer serves files like sm.alliedmods.net and mms.alliedmods.net
// do, below one base (a mirror): PATH -> body; a nil body is an endless
// one, sent without a Content-Length (a hostile mirror).
func dropServer(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if b == nil {
			chunk := bytes.Repeat([]byte("x"), 64<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAlliedModsHelpers(t *testing.T) {
	files := map[string][]byte{
		"/smdrop/1.12/sourcemod-latest-linux":                []byte("sourcemod-1.12.0-git7210-linux.tar.gz"),
		"/smdrop/1.12/sourcemod-1.12.0-git7210-linux.tar.gz": tgz(t, sourcemodTree),
		"/mmsdrop/1.13/mmsource-latest-linux":                []byte("mmsource-1.13.0-git1300-linux.tar.gz\n"),
		"/mmsdrop/1.13/mmsource-1.13.0-git1300-linux.tar.gz": tgz(t, metamodTree),
		"/smdrop/dotdot/sourcemod-latest-linux":              []byte("sourcemod-1-linux.tar.gz"),
		"/smdrop/dotdot/sourcemod-1-linux.tar.gz":            tgz(t, append(sourcemodTree[:1:1], entry{name: "addons/../../escaped.txt", body: "x"})),
		"/smdrop/abs/sourcemod-latest-linux":                 []byte("sourcemod-1-linux.tar.gz"),
		"/smdrop/abs/sourcemod-1-linux.tar.gz":               tgz(t, []entry{{name: "/tmp/escaped.txt", body: "x"}}),
		"/smdrop/link/sourcemod-latest-linux":                []byte("sourcemod-1-linux.tar.gz"),
		"/smdrop/link/sourcemod-1-linux.tar.gz":              tgz(t, []entry{{name: "addons/", typ: tar.TypeDir}, {name: "addons/out", typ: tar.TypeSymlink, link: "/etc"}, {name: "addons/out/x", body: "x"}}),
		"/smdrop/hard/sourcemod-latest-linux":                []byte("sourcemod-1-linux.tar.gz"),
		"/smdrop/hard/sourcemod-1-linux.tar.gz":              tgz(t, []entry{{name: "shadow", typ: tar.TypeLink, link: "/etc/shadow"}}),
		"/smdrop/fifo/sourcemod-latest-linux":                []byte("sourcemod-1-linux.tar.gz"),
		"/smdrop/fifo/sourcemod-1-linux.tar.gz":              tgz(t, []entry{{name: "f", typ: tar.TypeFifo}}),
		"/smdrop/names/sourcemod-latest-linux":               []byte("../../etc/passwd"),
		"/smdrop/other/sourcemod-latest-linux":               []byte("payload.sh"),
		"/smdrop/notgz/sourcemod-latest-linux":               []byte("sourcemod-1-linux.tar.gz"),
		"/smdrop/notgz/sourcemod-1-linux.tar.gz":             []byte("<html>not found</html>"),
		"/smdrop/huge/sourcemod-latest-linux":                bytes.Repeat([]byte("x"), 8192),
		"/smdrop/endless/sourcemod-latest-linux":             nil,
		"/smdrop/owner/sourcemod-latest-linux":               []byte("sourcemod-1-linux.tar.gz"),
		// An owner with a space once shifted tar -tv's fields past the checks.
		"/smdrop/owner/sourcemod-1-linux.tar.gz": tgz(t, []entry{{name: "../escaped.txt", body: "x", uname: "a b"}}),
	}
	srv := dropServer(t, files)
	mirror := "export LEFT4ME_ALLIEDMODS_MIRROR=" + srv.URL + "/\n"

	t.Run("sourcemod and metamod", func(t *testing.T) {
		layer, out, err := runHelpers(t, mirror+"sourcemod\nmetamod 1.13\n")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for p, want := range map[string]string{
			"left4dead2/addons/sourcemod/plugins/basecommands.smx": "smx",
			"left4dead2/cfg/sourcemod/sourcemod.cfg":               "sm_show_activity 13",
			"left4dead2/addons/metamod/bin/server.so":              "elf",
		} {
			if b, err := os.ReadFile(filepath.Join(layer, p)); err != nil || string(b) != want {
				t.Errorf("%s: %q %v", p, b, err)
			}
		}
		if !strings.Contains(out, "sourcemod: "+srv.URL+"/smdrop/1.12/sourcemod-1.12.0-git7210-linux.tar.gz") {
			t.Errorf("output does not say what it fetched:\n%s", out)
		}
	})
	for _, c := range []struct{ branch, want string }{
		{"dotdot", "entry addons/../../escaped.txt leads outside the game directory; refused, nothing unpacked"},
		{"abs", "entry /tmp/escaped.txt leads outside the game directory"},
		{"link", "entry addons/out -> /etc is not a file or directory"},
		{"hard", "entry shadow link to /etc/shadow is not a file or directory"},
		{"fifo", "entry f is not a file or directory"},
		{"names", "names ../../etc/passwd, not an archive beside it; refused"},
		{"other", "names 'payload.sh', not a sourcemod-VERSION-linux.tar.gz; refused"},
		{"notgz", "sourcemod-1-linux.tar.gz is not a .tar.gz archive"},
		{"huge", "larger than 4096 bytes"},
		{"endless", "larger than 4096 bytes"},
		{"owner", "entry ../escaped.txt leads outside the game directory"},
		{"1.99", "sourcemod: no build of branch 1.99 at " + srv.URL + "/smdrop/1.99"},
		{"../1.12", "sourcemod: ../1.12: not a branch"},
	} {
		t.Run("refuses "+c.branch, func(t *testing.T) {
			layer, out, err := runHelpers(t, mirror+"sourcemod '"+c.branch+"'\necho after\n")
			if err == nil || !strings.Contains(out, c.want) || strings.Contains(out, "\nafter") {
				t.Errorf("%v\n%s\nwant %q", err, out, c.want)
			}
			var got []string
			filepath.Walk(filepath.Join(layer, "left4dead2"), func(p string, fi os.FileInfo, err error) error {
				if err == nil && !fi.IsDir() {
					got = append(got, p)
				}
				return nil
			})
			if len(got) > 0 {
				t.Errorf("unpacked despite the refusal: %v", got)
			}
			if _, err := os.Lstat("/tmp/escaped.txt"); err == nil {
				t.Errorf("/tmp/escaped.txt written")
			}
		})
	}
}

// sh -e is off in a function called from a condition: a refusal must
// still stop the helper there, and nothing is unpacked.
func TestAlliedModsRefusalInACondition(t *testing.T) {
	srv := dropServer(t, map[string][]byte{
		"/smdrop/link/sourcemod-latest-linux":   []byte("sourcemod-1-linux.tar.gz"),
		"/smdrop/link/sourcemod-1-linux.tar.gz": tgz(t, []entry{{name: "addons/", typ: tar.TypeDir}, {name: "addons/out", typ: tar.TypeSymlink, link: "/etc"}}),
	})
	mirror := "export LEFT4ME_ALLIEDMODS_MIRROR=" + srv.URL + "/\n"
	for _, builder := range []string{
		"sourcemod link || { echo 'sourcemod failed'; exit 1; }\necho built\n",
		"if sourcemod link; then echo built; else echo 'sourcemod failed'; exit 1; fi\n",
		"sourcemod link && echo built\nexit 1\n",
	} {
		layer, out, err := runHelpers(t, mirror+builder)
		if err == nil || strings.Contains(out, "built") || !strings.Contains(out, "is not a file or directory") {
			t.Errorf("%q: %v\n%s", builder, err, out)
		}
		if _, err := os.Lstat(filepath.Join(layer, "left4dead2/addons/out")); err == nil {
			t.Errorf("%q: the link was unpacked", builder)
		}
	}
}

// Only https://, or http:// to this host.
func TestAlliedModsMirrorScheme(t *testing.T) {
	for _, m := range []string{"http://mirror.example.org", "ftp://127.0.0.1", "-K/etc/passwd"} {
		_, out, err := runHelpers(t, "export LEFT4ME_ALLIEDMODS_MIRROR='"+m+"'\nsourcemod\n")
		if err == nil || !strings.Contains(out, "not an https:// URL") {
			t.Errorf("%s: %v\n%s", m, err, out)
		}
	}
}
