package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tarGz is a .tar.gz of files (name -> body; a name ending in / is a
// directory), as AlliedModders' Linux builds are packed.
func tarGz(t *testing.T, files [][2]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(f[0], "/") {
			h.Mode, h.Typeflag = 0o755, tar.TypeDir
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f[1]))
	}
	tw.Close()
	zw.Close()
	return buf.String()
}

// SourceMod, Metamod:Source and a Workshop item in one overlay, each one
// line of its builder (issue 27, item 6), on real systemd: the build unit
// fetches from a mirror (LEFT4ME_ALLIEDMODS_MIRROR, here a local HTTP
// server laid out as sm.alliedmods.net and mms.alliedmods.net) and runs
// the stand-in steamcmd (LEFT4ME_STEAMCMD), both passed from the
// operator's environment; the instance sees it all. A failed item fails
// the build, saying which.
func TestOverlayModHelpers(t *testing.T) {
	requireE2E(t)
	state := t.TempDir()
	installGame(t, state)
	sm := tarGz(t, [][2]string{{"addons/", ""}, {"addons/sourcemod/", ""}, {"addons/sourcemod/plugins/", ""},
		{"addons/sourcemod/plugins/basecommands.smx", "smx"}, {"addons/metamod/sourcemod.vdf", "vdf"},
		{"cfg/", ""}, {"cfg/sourcemod/", ""}, {"cfg/sourcemod/sourcemod.cfg", "sm_show_activity 13\n"}})
	mms := tarGz(t, [][2]string{{"addons/", ""}, {"addons/metamod.vdf", "\"Plugin\" {}\n"}, {"addons/metamod/bin/server.so", "elf"}})
	c := Boot(t, Options{State: state, Install: installProject(t), Setup: func(root string) error {
		steam, err := os.ReadFile(filepath.Join(repoRoot(t), "build", "steamcmd"))
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(root, "opt/steamcmd"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, "opt/steamcmd/steamcmd"), steam, 0o755); err != nil {
			return err
		}
		return writeFiles(root, map[string]string{
			"srv/drops/smdrop/1.12/sourcemod-latest-linux":                "sourcemod-1.12.0-git7210-linux.tar.gz\n",
			"srv/drops/smdrop/1.12/sourcemod-1.12.0-git7210-linux.tar.gz": sm,
			"srv/drops/mmsdrop/1.12/mmsource-latest-linux":                "mmsource-1.12.0-git1219-linux.tar.gz\n",
			"srv/drops/mmsdrop/1.12/mmsource-1.12.0-git1219-linux.tar.gz": mms,
			"opt/steamcmd/depot/build":                                    "1\n",
			"opt/steamcmd/depot/workshop/123/5566_legacy.bin":             "VPK 123",
			"opt/steamcmd/depot/workshop/456.fail":                        "Access Denied\n",
			"etc/left4me/overlays/mods.yaml":                              "builder: mods.sh\ntimeout: 2m\n",
			"etc/left4me/overlays/mods.sh":                                "sourcemod\nmetamod\nworkshop $(cat /etc/left4me/overlays/items)\n",
			"etc/left4me/overlays/items":                                  "123\n",
			"etc/left4me/instances/modded.yaml":                           "port: 27056\noverlays: [mods]\n",
		})
	}})
	c.MustRun(t, "systemd-run", "--unit=drops", "python3", "-m", "http.server", "8765", "--bind", "127.0.0.1", "--directory", "/srv/drops")
	c.WaitFor(t, "the mirror answers", 20*time.Second, func() bool {
		_, err := c.Run(t, "curl", "-fs", "-o", "/dev/null", "http://127.0.0.1:8765/smdrop/1.12/sourcemod-latest-linux")
		return err == nil
	})
	build := func(t *testing.T) (string, error) {
		t.Helper()
		return c.Run(t, "sh", "-c", "LEFT4ME_ALLIEDMODS_MIRROR=http://127.0.0.1:8765 LEFT4ME_STEAMCMD=/opt/steamcmd/steamcmd left4me overlay build mods 2>&1")
	}

	out, err := build(t)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, w := range []string{"sourcemod: http://127.0.0.1:8765/smdrop/1.12/sourcemod-1.12.0-git7210-linux.tar.gz",
		"metamod: http://127.0.0.1:8765/mmsdrop/1.12/mmsource-1.12.0-git1219-linux.tar.gz",
		"Success. Downloaded item 123 to ", "workshop: item 123 -> addons/123.vpk"} {
		if !strings.Contains(out, w) {
			t.Errorf("build output lacks %q:\n%s", w, out)
		}
	}
	c.MustRun(t, "left4me", "start", "modded")
	m := "/var/lib/left4me/runtime/modded/merged/left4dead2/"
	for rel, want := range map[string]string{
		"addons/sourcemod/plugins/basecommands.smx": "smx",
		"cfg/sourcemod/sourcemod.cfg":               "sm_show_activity 13\n",
		"addons/metamod.vdf":                        "\"Plugin\" {}\n",
		"addons/metamod/bin/server.so":              "elf",
		"addons/123.vpk":                            "VPK 123",
	} {
		if got, err := c.Run(t, "cat", m+rel); err != nil || got != want {
			t.Errorf("%s in the instance: %q %v, want %q", rel, got, err, want)
		}
	}

	c.MustRun(t, "sh", "-c", "echo '123 456' > /etc/left4me/overlays/items")
	out, err = build(t)
	if err == nil || !strings.Contains(out, "workshop: item 456 was not downloaded: ERROR! Download item 456 failed (Access Denied).") ||
		!strings.Contains(out, "current version is unchanged") {
		t.Errorf("a build with a failed item: %v\n%s", err, out)
	}
}
