package commands

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/ovbuild"
	"github.com/left4me/left4me/tests/testroot"
)

// overlay status says how the last build ended: one interrupted (Ctrl-C)
// or stopped at a limit of its definition is not shown as failed; a
// record older than outcomes reads as its ok says.
func TestOverlayStatusSaysHowTheLastBuildEnded(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		record string // last-build.json
		want   string // after the ID in the status line
		json   ovbuild.Outcome
	}{
		{"interrupted", buildRecord(t, ovbuild.Result{ID: "20260101T000000Z", Finished: at, Outcome: ovbuild.Interrupted, Unit: "left4me-build-comp-20260101T000000Z.service",
			Message: "overlay comp: interrupted before the builder /etc/left4me/overlays/comp.sh finished; its unit left4me-build-comp-20260101T000000Z.service was stopped; the current version is unchanged"}),
			" interrupted at ", ovbuild.Interrupted},
		{"timed out", buildRecord(t, ovbuild.Result{ID: "20260101T000000Z", Finished: at, Outcome: ovbuild.TimedOut, Unit: "u"}), " timed out at ", ovbuild.TimedOut},
		{"out of memory", buildRecord(t, ovbuild.Result{ID: "20260101T000000Z", Finished: at, Outcome: ovbuild.OutOfMemory, Unit: "u"}), " out of memory at ", ovbuild.OutOfMemory},
		{"failed", buildRecord(t, ovbuild.Result{ID: "20260101T000000Z", Finished: at, Outcome: ovbuild.Failed, Unit: "u"}), " failed at ", ovbuild.Failed},
		{"an older record that failed", `{"id": "20260101T000000Z", "finished": "2026-01-01T00:00:00Z", "ok": false, "message": "m", "unit": "u"}`, " failed at ", ovbuild.Failed},
		{"an older record that succeeded", `{"id": "20260101T000000Z", "finished": "2026-01-01T00:00:00Z", "ok": true, "message": "m", "unit": "u"}`, " succeeded at ", ovbuild.Succeeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			dir := ovbuild.Store{Root: te.Layout.Root}.Dir("comp")
			mkdirs(t, dir)
			writeFile(t, filepath.Join(dir, "last-build.json"), tc.record)
			if err := te.run("overlay", "status", "comp"); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(te.out.String(), "last build: 20260101T000000Z"+tc.want) {
				t.Errorf("status, want %q:\n%s", tc.want, te.out)
			}
			if err := te.run("overlay", "status", "--json", "comp"); err != nil {
				t.Fatal(err)
			}
			var got []struct {
				LastBuild struct {
					Outcome ovbuild.Outcome `json:"outcome"`
				} `json:"last_build"`
			}
			if err := json.Unmarshal(te.out.Bytes(), &got); err != nil || len(got) != 1 || got[0].LastBuild.Outcome != tc.json {
				t.Errorf("--json (%v), want outcome %q:\n%s", err, tc.json, te.out)
			}
		})
	}
}

func buildRecord(t *testing.T, r ovbuild.Result) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// overlay status run by a member of left4me-admin (not root): which
// version a mounted server runs on is read in runtime/NAME, root's and
// 0700. It says so, instead of showing the server on no version.
func TestOverlayStatusNotRootSaysPermission(t *testing.T) {
	testroot.Require(t, "mounts a server's runtime and reads as another user")
	te := newEnv(t)
	te.overlay(t, "comp", "")
	te.spec(t, "srv1", "port: 27015\noverlays: [comp]\n")
	merged := te.Layout.MergedDir("srv1")
	mkdirs(t, merged)
	if err := unix.Mount("tmpfs", merged, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
	if err := os.Chmod(te.Layout.RuntimeDir("srv1"), 0o700); err != nil {
		t.Fatal(err)
	}
	base := filepath.Dir(te.Layout.Root)
	for _, d := range []string{base, filepath.Dir(base), filepath.Join(te.Layout.Root, "overlays"), filepath.Join(te.Layout.Root, "overlays", "comp")} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		uid  int
		want string
	}{
		{"root", 0, "running: srv1"},
		{"a member of left4me-admin", 1000, "running: cannot tell which version srv1 run on (not root: permission denied in " + te.Layout.RuntimeDir("NAME")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te.Euid = tc.uid
			var err error
			var out string
			asUser(t, tc.uid, func() {
				err = te.run("overlay", "status", "comp")
				out = te.out.String()
			})
			if err != nil {
				t.Fatalf("%v\n%s%s", err, out, te.err)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("status lacks %q:\n%s", tc.want, out)
			}
		})
	}
}
