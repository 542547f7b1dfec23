package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

func backupIDs(t *testing.T, te *tenv, name string) []string {
	t.Helper()
	all, err := backup.List(dayops.BackupDir(te.Layout, name))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range all {
		ids = append(ids, b.ID)
	}
	return ids
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A backup, a change, a restore of the running server: stopped, put back,
// started; what it replaced is backed up first.
func TestBackupRestoreRunning(t *testing.T) {
	te := newEnv(t)
	rt := withRuntime(t, te, "srv1")
	te.Euid = 0
	if err := te.run("backup", "srv1"); err != nil {
		t.Fatal(err)
	}
	if ids := backupIDs(t, te, "srv1"); len(ids) != 1 || !strings.Contains(te.out.String(), "srv1: backup "+ids[0]) {
		t.Fatalf("backups %v; out %s", ids, te.out)
	}
	if err := te.run("backups", "srv1"); err != nil || !strings.Contains(te.out.String(), "ID") {
		t.Fatalf("%v\n%s", err, te.out)
	}
	cfg := filepath.Join(rt, "upper", "left4dead2", "banned_user.cfg")
	writeFile(t, cfg, "lost\n")
	te.sd.set(clienv.UnitOf("srv1"), "active", "running")
	te.sd.calls = nil
	if err := te.run("restore", "srv1", "--yes"); err != nil {
		t.Fatalf("%v\n%s", err, te.out)
	}
	if got := readFile(t, cfg); got != "banid 0 STEAM_1\n" {
		t.Errorf("restored %q", got)
	}
	want := []string{"stop " + clienv.UnitOf("srv1"), "start " + clienv.UnitOf("srv1")}
	if calls := slices.DeleteFunc(slices.Clone(te.sd.calls), func(c string) bool { return c == "units" }); !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	ids := backupIDs(t, te, "srv1")
	if len(ids) != 2 {
		t.Fatalf("want the backup and the one taken before the restore, got %v", ids)
	}
	// The backup taken before holds what was replaced.
	if err := te.run("restore", "srv1", ids[1], "--yes", "--no-backup"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, cfg); got != "lost\n" {
		t.Errorf("the backup taken before the restore holds %q", got)
	}
	if n := len(backupIDs(t, te, "srv1")); n != 2 {
		t.Errorf("--no-backup took one: %d", n)
	}
}

// backedUpAndChanged is a running srv1 with a backup, and the cfg file
// (upper layer) changed since to "newer".
func backedUpAndChanged(t *testing.T) (*tenv, string) {
	te := newEnv(t)
	rt := withRuntime(t, te, "srv1")
	te.Euid = 0
	if err := te.run("backup", "srv1"); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(rt, "upper", "left4dead2", "banned_user.cfg")
	writeFile(t, cfg, "newer\n")
	te.sd.set(clienv.UnitOf("srv1"), "active", "running")
	return te, cfg
}

// --when-empty: an occupied server is left as it is at the deadline.
func TestRestoreWhenEmptyOccupied(t *testing.T) {
	te, cfg := backedUpAndChanged(t)
	te.Players = func(context.Context, string) (int, int, error) { return 3, 0, nil }
	te.sd.calls = nil
	err := te.run("restore", "srv1", "--yes", "--when-empty", "--deadline", "0")
	if err == nil {
		t.Fatal("restored an occupied server")
	}
	if got := readFile(t, cfg); got != "newer\n" {
		t.Errorf("the upper layer changed: %q", got)
	}
	for _, c := range te.sd.calls {
		if strings.HasPrefix(c, "stop") {
			t.Errorf("stopped it: %v", te.sd.calls)
		}
	}
}

// At once, as reset and delete: a script's --yes never kicks players (it
// is told how to wait for them); a person is told who plays and decides.
func TestRestoreOccupied(t *testing.T) {
	te, cfg := backedUpAndChanged(t)
	te.Players = func(context.Context, string) (int, int, error) { return 2, 0, nil }
	te.sd.calls = nil
	err := te.run("restore", "srv1", "--yes")
	if err == nil || !strings.Contains(err.Error(), "srv1 has 2 player(s) on it now") || !strings.Contains(err.Error(), "--when-empty --deadline 30m --yes") {
		t.Fatalf("--yes on an occupied server: %v", err)
	}
	if strings.Contains(err.Error(), "job failed") || !strings.Contains(err.Error(), "they would be kicked") || fail.Code(err) != fail.CodeUsage {
		t.Errorf("a refusal, no job: %q exits %d", err, fail.Code(err))
	}
	if got := readFile(t, cfg); got != "newer\n" {
		t.Errorf("the upper layer changed: %q", got)
	}
	if slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, "stop") }) {
		t.Errorf("stopped it: %v", te.sd.calls)
	}
	if !strings.Contains(err.Error(), "or at once with --yes --force (they are kicked)") {
		t.Errorf("the refusal does not say how to go ahead: %v", err)
	}
	// --yes --force goes ahead at once, as reset's and delete's (README).
	if err := te.run("restore", "srv1", "--yes", "--force"); err != nil {
		t.Fatalf("--yes --force: %v\n%s", err, te.err)
	}
	if got := readFile(t, cfg); got != "banid 0 STEAM_1\n" {
		t.Errorf("--yes --force restored %q", got)
	}
	writeFile(t, cfg, "newer\n")
	// On a terminal the question names them; the answer is the person's.
	te.Stdin, te.Terminal = strings.NewReader("y\n"), true
	if err := te.run("restore", "srv1"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if !strings.Contains(te.out.String()+te.err.String(), "srv1 has 2 player(s) on it now: they would be kicked. Restore srv1") {
		t.Errorf("the question did not say who plays:\n%s%s", te.out, te.err)
	}
	if got := readFile(t, cfg); got != "banid 0 STEAM_1\n" {
		t.Errorf("restored %q", got)
	}
}

// --when-empty, and someone stops the server during the wait: the backup
// is put back and that stop stands.
func TestRestoreWhenEmptyStoppedMeanwhile(t *testing.T) {
	te, cfg := backedUpAndChanged(t)
	te.Now, te.EmptyPoll = time.Now, time.Millisecond
	te.Players = func(context.Context, string) (int, int, error) {
		te.sd.set(clienv.UnitOf("srv1"), "inactive", "dead") // stopped by hand
		return 3, 0, nil
	}
	te.sd.calls = nil
	if err := te.run("restore", "srv1", "--yes", "--when-empty", "--deadline", "1m"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if got := readFile(t, cfg); got != "banid 0 STEAM_1\n" {
		t.Errorf("restored %q", got)
	}
	if u := te.sd.units[clienv.UnitOf("srv1")]; u.ActiveState != "inactive" || slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, "start") }) ||
		!strings.Contains(te.out.String(), "srv1 was stopped meanwhile: it stays stopped") {
		t.Errorf("%+v %v\n%s", u, te.sd.calls, te.out)
	}
}

// A server started between restore's look and its lock: nothing is
// restored, and no undo backup was taken either (it is taken under the
// lock, so it holds what the server wrote up to the restore).
func TestRestoreStartedMeanwhile(t *testing.T) {
	te, cfg := backedUpAndChanged(t)
	unit := clienv.UnitOf("srv1")
	te.sd.set(unit, "inactive", "dead")
	reads := 0
	te.sd.read = func(u string) {
		if reads++; u == unit && reads == 2 { // after restore's first look
			te.sd.set(unit, "active", "running")
		}
	}
	before := len(backupIDs(t, te, "srv1"))
	err := te.run("restore", "srv1", "--yes")
	if err == nil || !strings.Contains(err.Error(), "it was started meanwhile; nothing was restored") {
		t.Fatalf("restore: %v", err)
	}
	if got := readFile(t, cfg); got != "newer\n" {
		t.Errorf("the upper layer changed: %q", got)
	}
	if after := len(backupIDs(t, te, "srv1")); after != before {
		t.Errorf("%d backups after a restore that did nothing, want %d: an undo backup taken outside the lock", after, before)
	}
}

func TestBackupRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		euid int
		code int
		want string
	}{
		{"not root", []string{"backup", "srv1"}, 1000, fail.CodePermission, "sudo left4me backup srv1"},
		{"never ran", []string{"backup", "srv2"}, 0, fail.CodeFailure, "nothing to back up"},
		{"keep 0", []string{"backup", "srv1", "--keep", "0"}, 0, fail.CodeUsage, "--keep 0"},
		{"unknown instance", []string{"backup", "nope"}, 0, fail.CodeUnknownInstance, "nope"},
		{"bad ID", []string{"restore", "srv1", "../x"}, 0, fail.CodeUsage, "not a backup ID"},
		{"no such ID", []string{"restore", "srv1", "20200101T000000Z", "--yes"}, 0, fail.CodeFailure, "no such backup"},
		{"no backups", []string{"restore", "srv2", "--yes"}, 0, fail.CodeFailure, "no such backup"},
		{"restore not root", []string{"restore", "srv1", "--yes"}, 1000, fail.CodePermission, "sudo left4me restore srv1"},
		{"flag without when-empty", []string{"restore", "srv1", "--yes", "--deadline", "1m"}, 0, fail.CodeUsage, "--deadline only means something with --when-empty"},
		{"force with a deadline, no when-empty", []string{"restore", "srv1", "--yes", "--force", "--deadline", "1m"}, 0, fail.CodeUsage, "--deadline goes with --when-empty (then --force warns the players and restores at the deadline); --force alone restores at once, kicking them"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			withRuntime(t, te, "srv1")
			te.spec(t, "srv2", "port: 27016\n")
			te.Euid = 0
			if err := te.run("backup", "srv1"); err != nil {
				t.Fatal(err)
			}
			te.Euid = tc.euid
			err := te.run(tc.args...)
			if fail.Code(err) != tc.code || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (code %d), want code %d and %q", err, fail.Code(err), tc.code, tc.want)
			}
		})
	}
}

// reset and delete back up first; --no-backup does not; the backups
// outlive a deleted instance; a failed backup removes nothing and starts a
// running server again.
func TestRemovalBacksUpFirst(t *testing.T) {
	for _, tc := range []struct {
		op       string
		args     []string
		backups  int
		tooLarge bool
	}{
		{"reset", nil, 1, false},
		{"delete", nil, 1, false},
		{"reset", []string{"--no-backup"}, 0, false},
		{"reset", nil, 0, true},
		{"delete", nil, 0, true},
	} {
		t.Run(tc.op+strings.Join(tc.args, "")+map[bool]string{true: "/backup fails"}[tc.tooLarge], func(t *testing.T) {
			te := newEnv(t)
			rt := withRuntime(t, te, "srv1")
			te.Euid = 0
			te.sd.set(clienv.UnitOf("srv1"), "active", "running")
			if tc.tooLarge {
				// Holes do not count (backup.DefaultMaxBytes is of data);
				// files longer than DefaultMaxLength together do.
				f, err := os.Create(filepath.Join(rt, "upper", "sparse"))
				if err != nil {
					t.Fatal(err)
				}
				f.Truncate(backup.DefaultMaxLength + 1)
				f.Close()
			}
			err := te.run(append([]string{tc.op, "srv1", "--yes"}, tc.args...)...)
			if n := len(backupIDs(t, te, "srv1")); n != tc.backups {
				t.Errorf("%d backups, want %d", n, tc.backups)
			}
			if tc.tooLarge {
				// Told before the server is stopped for a backup that
				// could only be refused (hostile review).
				if !errors.Is(err, dayops.ErrBackupRefused) || !strings.Contains(err.Error(), "--no-backup") {
					t.Fatalf("got %v", err)
				}
				if !exists(filepath.Join(rt, "upper", "left4dead2", "banned_user.cfg")) || !exists(te.Layout.SpecPath("srv1")) {
					t.Errorf("removed something without a backup")
				}
				if slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, "stop ") }) {
					t.Errorf("stopped for a backup that could only fail: %v", te.sd.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if exists(filepath.Join(rt, "upper")) {
				t.Errorf("%s survived", rt)
			}
		})
	}
}

// A restore without ID skips the backups restores took, so running it
// twice puts back the same backup and does not undo itself; the one it
// took says how to undo, and taking it prunes nothing (with keep 2 the
// backup being restored is the oldest).
func TestRestoreTwice(t *testing.T) {
	te := newEnv(t)
	rt := withRuntime(t, te, "srv1")
	te.spec(t, "srv1", "port: 27015\nbackups: {keep: 2}\n")
	te.Euid = 0
	te.sd.set(clienv.UnitOf("srv1"), "inactive", "dead")
	cfg := filepath.Join(rt, "upper", "left4dead2", "banned_user.cfg")
	for _, v := range []string{"one\n", "two\n"} {
		writeFile(t, cfg, v)
		if err := te.run("backup", "srv1"); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, cfg, "three\n")
	first := backupIDs(t, te, "srv1")
	if len(first) != 2 {
		t.Fatalf("backups %v", first)
	}
	te.out.Reset()
	if err := te.run("restore", "srv1", first[0], "--yes"); err != nil {
		t.Fatalf("restore of the oldest with keep 2: %v\n%s", err, te.out)
	}
	if got := readFile(t, cfg); got != "one\n" {
		t.Errorf("restored %q", got)
	}
	ids := backupIDs(t, te, "srv1")
	if len(ids) != 3 || !strings.Contains(te.out.String(), "to undo the restore: left4me restore srv1 "+ids[2]) {
		t.Fatalf("backups %v\n%s", ids, te.out)
	}
	for range 2 {
		if err := te.run("restore", "srv1", "--yes"); err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, cfg); got != "two\n" {
			t.Errorf("a restore without ID put back %q, not the newest backup", got)
		}
	}
	te.out.Reset()
	if err := te.run("backups", "srv1"); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(te.out.String()), "\n"); len(lines) != 6 || !strings.HasSuffix(lines[1], " -") || !strings.HasSuffix(lines[3], " restore") {
		t.Errorf("backups:\n%s", te.out)
	}
	if err := te.run("restore", "srv1", ids[2], "--yes", "--no-backup"); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, cfg); got != "three\n" {
		t.Errorf("undo put back %q", got)
	}
}

// A spec removed while its server ran (by mistake): what the server wrote
// can still be backed up; a name with neither spec nor state cannot.
func TestBackupOfAnOrphan(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	withRuntime(t, te, "srv1")
	if err := os.Remove(te.Layout.SpecPath("srv1")); err != nil {
		t.Fatal(err)
	}
	if err := te.run("backup", "srv1"); err != nil || !strings.Contains(te.out.String(), "srv1 has no spec; backing up what") || len(backupIDs(t, te, "srv1")) != 1 {
		t.Errorf("%v\n%s", err, te.out)
	}
	if err := te.run("backup", "nothing"); fail.Code(err) != fail.CodeUnknownInstance {
		t.Errorf("backup of nothing: %v", err)
	}
}

// A signal while restore, reset or delete asks a (hibernating) server who
// plays is an interrupt, said as one (main's fail.Interrupted), not "it
// may have players" nor a failed job; nothing is done.
func TestInterruptedWhileAskingWhoPlays(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"restore", []string{"restore", "srv1", "--yes"}},
		{"reset", []string{"reset", "srv1", "--yes", "--no-backup"}},
		{"delete", []string{"delete", "srv1", "--yes", "--no-backup"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			te, cfg := backedUpAndChanged(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The operator's Ctrl-C comes while the server is asked.
			te.Players = func(context.Context, string) (int, int, error) {
				cancel()
				return 0, 0, fmt.Errorf("A2S_INFO: %w", ctx.Err())
			}
			te.sd.calls = nil
			err := Run(ctx, te.Env, append([]string{"left4me"}, c.args...))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err %v: not an interrupt", err)
			}
			msg, code := fail.Interrupted(err)
			if code != fail.CodeInterrupted || !strings.HasPrefix(msg, "interrupted") || strings.Contains(msg, "may have players") || strings.Contains(msg, "job failed") {
				t.Errorf("said %q (exit %d)", msg, code)
			}
			if got := readFile(t, cfg); got != "newer\n" {
				t.Errorf("the upper layer changed: %q", got)
			}
			if slices.ContainsFunc(te.sd.calls, func(c string) bool { return strings.HasPrefix(c, "stop") }) {
				t.Errorf("stopped it: %v", te.sd.calls)
			}
		})
	}
}

// A running server whose start would now fail (an overlay its spec names
// is missing) is not restored: nothing is stopped or replaced, and the
// problem is said at once, at its spec line, whether the restore waits
// for players or not (operator review: it said "its spec changed since
// the command began?" after the wait, without FILE:LINE:COL).
func TestRestoreRefusesAStartThatWouldFail(t *testing.T) {
	for _, args := range [][]string{{"--yes"}, {"--yes", "--when-empty", "--deadline", "1m"}} {
		te, cfg := backedUpAndChanged(t)
		te.spec(t, "srv1", "port: 27015\noverlays: [gone]\n")
		te.sd.calls = nil
		err := te.run(append([]string{"restore", "srv1"}, args...)...)
		want := te.Layout.SpecPath("srv1") + ":2:12: overlays[0]: "
		if err == nil || !strings.Contains(err.Error(), "a start of srv1 would fail, so nothing was done") || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want %q", args, err, want)
		}
		if got := readFile(t, cfg); got != "newer\n" {
			t.Errorf("%v: the upper layer changed: %q", args, got)
		}
		if len(te.sd.calls) != 0 {
			t.Errorf("%v: calls %v", args, te.sd.calls)
		}
	}
}
