package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/left4me/left4me/tests/testroot"
)

// Root's update refuses, before any steamcmd runs and with an alert,
// what others could change: update.env (systemd reads it into the unit's
// run: LEFT4ME_STEAMCMD names what root runs) and the steamcmd itself,
// or a directory above it (operator review: any local user could have
// root run their program at the next timer run).
func TestUpdateRefusesWhatOthersCanChange(t *testing.T) {
	testroot.Require(t, "gives files to another user")
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, te *tenv, steamDir string)
		want  string
	}{
		{"world-writable update.env", func(t *testing.T, te *tenv, _ string) {
			p := filepath.Join(te.Layout.ConfigDir, "update.env")
			writeFile(t, p, "LEFT4ME_UPDATE_RESTART=never\n")
			chmod(t, p, 0o666)
		}, "update refused: " + "%C/update.env sets the environment of left4me-update.service, which runs as root: %C/update.env is owned by uid 0 with mode 666"},
		{"steamcmd in a user's directory", func(t *testing.T, _ *tenv, steamDir string) {
			if err := os.Chown(steamDir, 1000, 1000); err != nil {
				t.Fatal(err)
			}
		}, "steamcmd not run: %S is owned by uid 1000 with mode 755"},
		{"steamcmd in a world-writable directory", func(t *testing.T, _ *tenv, steamDir string) {
			chmod(t, steamDir, 0o777)
		}, "steamcmd not run: %S is owned by uid 0 with mode 777"},
	} {
		t.Run(c.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			gameState(t, te)
			events := everyAlertTo(t, te)
			steamDir := filepath.Join(t.TempDir(), "steam")
			mkdirs(t, steamDir)
			ran := filepath.Join(filepath.Dir(steamDir), "ran")
			bin := filepath.Join(steamDir, "steamcmd")
			writeFile(t, bin, "#!/bin/sh\ntouch "+ran+"\n")
			chmod(t, bin, 0o755)
			c.setup(t, te, steamDir)
			err := te.run("game", "update", "--steamcmd", bin)
			want := strings.NewReplacer("%C", te.Layout.ConfigDir, "%S", steamDir).Replace(c.want)
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "chmod go-w") {
				t.Fatalf("got %v, want %q", err, want)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Error("steamcmd ran")
			}
			if got, _ := os.ReadFile(events); !strings.Contains(string(got), `"event":"update-failed"`) || !strings.Contains(string(got), "left4me game update refused: ") {
				t.Errorf("not alerted: %s", got)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// overlay build refuses, as root, a definition or builder others could
// change, before the build is announced: what the builder puts in the
// layer reaches every server that mounts it.
func TestOverlayBuildRefusesWhatOthersCanChange(t *testing.T) {
	testroot.Require(t, "gives files to another user")
	for _, c := range []struct {
		file string
		uid  int
		mode os.FileMode
		want string
	}{
		{"b.sh", 0, 0o666, "o2.yaml: builder refused: %D/b.sh is owned by uid 0 with mode 666"},
		{"o2.yaml", 1000, 0o644, "overlay definition refused: %D/o2.yaml is owned by uid 1000 with mode 644"},
	} {
		t.Run(c.file, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			dir := filepath.Join(te.Layout.ConfigDir, "overlays")
			mkdirs(t, dir)
			writeFile(t, filepath.Join(dir, "o2.yaml"), "builder: b.sh\n")
			writeFile(t, filepath.Join(dir, "b.sh"), "exit 0\n")
			chmod(t, filepath.Join(dir, c.file), c.mode)
			if err := os.Chown(filepath.Join(dir, c.file), c.uid, -1); err != nil {
				t.Fatal(err)
			}
			err := te.run("overlay", "build", "o2")
			want := strings.ReplaceAll(c.want, "%D", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want %q", err, want)
			}
			if strings.Contains(te.out.String(), "build") {
				t.Errorf("the build began:\n%s", te.out)
			}
		})
	}
}
