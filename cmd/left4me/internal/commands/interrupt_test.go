package commands

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/backup"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/dayops"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/lastwords"
	"github.com/left4me/left4me/tests/treetest"
)

// jobs is the start and stop calls of the fake systemd.
func jobs(sd *fakeSD) []string {
	return slices.DeleteFunc(slices.Clone(sd.calls), func(c string) bool { return c == "units" })
}

// A Ctrl-C during a restore (while its server is stopped for it, or
// while a stopped one's backup is taken or unpacked) stops it: what it
// wrote goes (no backup file, nothing beside the upper layer), the upper
// layer is as it was, and a server that ran is started again on it; it
// says so, as an interrupt (exit 130). Before, the first Ctrl-C let the
// whole restore run on (the rollout's job is finished), so the operator
// could not stop a restore begun by mistake, and a second Ctrl-C killed
// it in the middle. What a second Ctrl-C would leave is said at each
// step (lastwords), and nothing once the command is done.
func TestRestoreInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running bool
		args    []string
		want    string
	}{
		{"running, its backup first", true, nil, "srv1 was started again on its files as they were"},
		{"running, unpacking", true, []string{"--no-backup"}, "srv1 was started again on its files as they were"},
		{"stopped, its backup first", false, nil, "srv1 stays stopped, as it was"},
		{"stopped, unpacking", false, []string{"--no-backup"}, "srv1 stays stopped, as it was"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te, cfg := backedUpAndChanged(t)
			te.Last = &lastwords.Line{}
			unit := clienv.UnitOf("srv1")
			rt := te.Layout.RuntimeDir("srv1")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var said []string
			if tc.running {
				// Ctrl-C while the server is being stopped for it.
				te.sd.stopped = func(string) { said = append(said, te.Last.String()); cancel() }
				te.sd.starting = func(string) { said = append(said, te.Last.String()) }
			} else {
				te.sd.set(unit, "inactive", "dead")
				reads := 0
				te.sd.read = func(u string) {
					if reads++; reads == 2 { // under the lock, before the backup
						cancel()
					}
				}
			}
			before := backupIDs(t, te, "srv1")
			te.sd.calls = nil
			err := Run(ctx, te.Env, append([]string{"left4me", "restore", "srv1", "--yes"}, tc.args...))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want an interrupt", err)
			}
			msg, code := fail.Interrupted(err)
			if code != fail.CodeInterrupted || !strings.HasPrefix(msg, "interrupted: nothing was restored (backup ") || !strings.Contains(msg, tc.want) {
				t.Errorf("said %q (exit %d), want it to say %q", msg, code, tc.want)
			}
			if got := readFile(t, cfg); got != "newer\n" {
				t.Errorf("the upper layer holds %q", got)
			}
			for _, p := range []string{filepath.Join(rt, "upper.restore"), filepath.Join(rt, "upper.restore.note")} {
				if exists(p) {
					t.Errorf("left: %s", p)
				}
			}
			if after := backupIDs(t, te, "srv1"); !slices.Equal(after, before) {
				t.Errorf("backups %v, were %v", after, before)
			}
			if dots, _ := filepath.Glob(filepath.Join(dayops.BackupDir(te.Layout, "srv1"), ".*")); len(dots) > 0 {
				t.Errorf("left in the backups: %v", dots)
			}
			want := []string(nil)
			if tc.running {
				want = []string{"stop " + unit, "start " + unit}
			}
			if got := jobs(te.sd); !slices.Equal(got, want) {
				t.Errorf("jobs %v, want %v", got, want)
			}
			if tc.running {
				if u := te.sd.get(unit); u.ActiveState != "active" {
					t.Errorf("the server is %s", u.ActiveState)
				}
				// What a second Ctrl-C would have left, as it stopped and
				// as it started.
				if len(said) != 2 || !strings.Contains(said[0], "srv1 may be stopped") || !strings.Contains(said[0], "`left4me start srv1` starts it on its files as they were") ||
					!strings.Contains(said[1], "nothing was restored; the start of srv1 was under way: `left4me status srv1`") {
					t.Errorf("last words at the stop and the start: %q", said)
				}
			}
			if w := te.Last.String(); w != "" {
				t.Errorf("last words after the command: %q", w)
			}
		})
	}
}

// killedRestore is srv1 (running, with a backup and a changed cfg) after
// a restore that was killed (runtime.Goexit, where a SIGKILL would stop
// it) just before the backup was put in place, or just after; or,
// placed < 0, an upper.restore an older left4me left, without a note.
func killedRestore(t *testing.T, placed int) (*tenv, string, string) {
	t.Helper()
	te, cfg := backedUpAndChanged(t)
	rt := te.Layout.RuntimeDir("srv1")
	ids := backupIDs(t, te, "srv1")
	if placed < 0 {
		mkdirs(t, filepath.Join(rt, "upper.restore", "left4dead2"))
		writeFile(t, filepath.Join(rt, "upper.restore", "left4dead2", "banned_user.cfg"), "old\n")
		return te, cfg, ids[0]
	}
	b, err := backup.Find(dayops.BackupDir(te.Layout, "srv1"), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	died := make(chan struct{})
	go func() {
		defer close(died)
		backup.Restore(context.Background(), rt, b, backup.RestoreOptions{Undo: "20251126T110000Z", Swap: func(put func() error) error {
			if placed > 0 {
				if err := put(); err != nil {
					t.Error(err)
				}
			}
			runtime.Goexit()
			return nil
		}})
	}()
	<-died
	if !exists(filepath.Join(rt, "upper.restore")) {
		t.Fatal("the killed restore left nothing")
	}
	return te, cfg, ids[0]
}

// What a restore that was killed left beside the upper layer (the backup
// half put back, or the upper layer it replaced) is said by status, start
// and restart, and removed, saying what it was, by the next restore,
// reset or delete; it never becomes the upper layer, and the upper layer
// is never lost: it
// is the one the kill left in place (the old one before the swap, the
// backup after). A restore under way (the instance's lock held) keeps
// what it has.
func TestRestoreLeftovers(t *testing.T) {
	const restored, kept = "banid 0 STEAM_1\n", "newer\n"
	for _, tc := range []struct {
		name   string
		placed int // -1: no note (an older left4me)
		args   []string
		said   string // in the output of the command, with the leftover's path
		upper  string // the cfg after the command ("": gone, a reset)
	}{
		{"start, not placed", 0, []string{"start", "srv1"}, ": part of backup ID, unpacked by a restore cut short before it was put in place: the upper layer is as it was before that restore; left4me restore srv1 ID restores it", kept},
		{"start, placed", 1, []string{"start", "srv1"}, ": the upper layer a restore of backup ID replaced (backed up as 20251126T110000Z), left when it was cut short: backup ID is in place", restored},
		{"start, no note", -1, []string{"start", "srv1"}, ": left by a restore cut short (of a backup; whether it was put in place cannot be told): it is not the upper layer in use", kept},
		{"restart, not placed", 0, []string{"restart", "srv1"}, ": part of backup ID, unpacked", kept},
		{"restore, not placed", 0, []string{"restore", "srv1", "--yes", "--no-backup"}, ": part of backup ID, unpacked", restored},
		{"restore, placed", 1, []string{"restore", "srv1", "--yes", "--no-backup"}, ": the upper layer a restore of backup ID replaced", restored},
		{"reset, not placed", 0, []string{"reset", "srv1", "--yes", "--no-backup"}, ": part of backup ID, unpacked", ""},
		{"delete, placed", 1, []string{"delete", "srv1", "--yes", "--no-backup"}, ": the upper layer a restore of backup ID replaced", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te, cfg, id := killedRestore(t, tc.placed)
			unit := clienv.UnitOf("srv1")
			if strings.HasPrefix(tc.name, "start") {
				te.sd.set(unit, "inactive", "dead") // the kill left it stopped
			}
			left := filepath.Join(te.Layout.RuntimeDir("srv1"), "upper.restore")
			// status says what is there and what removes it, and removes nothing.
			if err := te.run("status", "srv1", "-n", "0"); err != nil && fail.Code(err) != fail.CodeNotRunning {
				t.Fatal(err)
			}
			said := strings.ReplaceAll(tc.said, "ID", id)
			if !strings.Contains(te.out.String(), "restore:") || !strings.Contains(te.out.String(), left+strings.Split(said, ";")[0]) ||
				!strings.Contains(te.out.String(), "the next left4me restore, reset or delete of srv1 removes it") || !exists(left) {
				t.Errorf("status:\n%s", te.out)
			}
			// list marks the row and says the same below the table.
			if err := te.run("list"); err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`(?m)^srv1 .*, ~restore`).MatchString(te.out.String()) ||
				!strings.Contains(te.out.String(), "~ srv1: restore: "+left+strings.Split(said, ";")[0]) {
				t.Errorf("list:\n%s", te.out)
			}
			if err := te.run(tc.args...); err != nil {
				t.Fatalf("%v\n%s", err, te.err)
			}
			// start and restart say it and keep it (it may be the only
			// copy of what a restore --no-backup replaced); restore,
			// reset and delete replace the upper layer and remove it.
			keeps := tc.args[0] == "start" || tc.args[0] == "restart"
			if keeps {
				out := te.out.String()
				if !strings.Contains(out, "srv1: "+left+strings.Split(said, "; left4me restore")[0]) || !strings.Contains(out, "; the next left4me restore, reset or delete of srv1 removes it") || !exists(left) {
					t.Errorf("%v said (and kept %s: %v):\n%s", tc.args, left, exists(left), te.out)
				}
			} else if !strings.Contains(te.out.String(), "srv1: removed "+left+said) {
				t.Errorf("%v said:\n%s", tc.args, te.out)
			}
			if !keeps && (exists(left) || exists(left+".note")) {
				t.Errorf("%s is still there", left)
			}
			if tc.upper == "" {
				return
			}
			if got := readFile(t, cfg); got != tc.upper {
				t.Errorf("the upper layer holds %q, want %q", got, tc.upper)
			}
		})
	}
	t.Run("a restore under way", func(t *testing.T) {
		te, _, _ := killedRestore(t, 0)
		rt := te.Layout.RuntimeDir("srv1")
		fd, err := os.Open(rt)
		if err != nil {
			t.Fatal(err)
		}
		defer fd.Close()
		// Its lock: a restore (or a start) under way.
		if err := lockDir(fd); err != nil {
			t.Fatal(err)
		}
		if err := te.run("status", "srv1", "-n", "0"); err != nil && fail.Code(err) != fail.CodeNotRunning {
			t.Fatal(err)
		}
		if !strings.Contains(te.out.String(), "a restore (begun by pid ") || !strings.Contains(te.out.String(), "is under way") {
			t.Errorf("status of a restore under way:\n%s", te.out)
		}
		if err := te.run("list", "--json"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(te.out.String(), `"restore_left": "a restore (begun by pid `) {
			t.Errorf("list --json of a restore under way:\n%s", te.out)
		}
		if err := te.run("restart", "srv1"); err != nil {
			t.Fatal(err)
		}
		if !exists(filepath.Join(rt, "upper.restore")) || strings.Contains(te.out.String(), "removed") {
			t.Errorf("took what a restore under way has:\n%s", te.out)
		}
	})
}

// lockDir takes the flock every left4me lock is on the open directory f.
func lockDir(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) }

// A Ctrl-C while a restore waits for the players to leave: nothing was
// done, said as a restore's (not the rollout's "not restarted").
func TestRestoreInterruptedWaiting(t *testing.T) {
	te, cfg := backedUpAndChanged(t)
	te.Now, te.EmptyPoll = time.Now, time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	asked := 0
	te.Players = func(context.Context, string) (int, int, error) {
		if asked++; asked == 2 { // once the wait began
			cancel()
		}
		return 3, 0, nil
	}
	te.sd.calls = nil
	err := Run(ctx, te.Env, []string{"left4me", "restore", "srv1", "--yes", "--when-empty", "--deadline", "1m"})
	if msg, code := fail.Interrupted(err); msg != "interrupted: nothing was restored; srv1 was left as it was" || code != fail.CodeInterrupted {
		t.Errorf("said %q (exit %d)", msg, code)
	}
	if got := readFile(t, cfg); got != "newer\n" || len(jobs(te.sd)) != 0 {
		t.Errorf("cfg %q, jobs %v", got, jobs(te.sd))
	}
}

// A Ctrl-C during a reset or a delete, before anything is removed (while
// the server is stopped for it, or its backup taken), ends it there:
// nothing removed, no backup kept, the server started again, said as an
// interrupt. Once the removal began, it is finished and the server
// started. Before, the stop or the start given up on by the Ctrl-C left
// the server stopped without a word. What a second Ctrl-C would leave is
// said at each step.
func TestRemovalInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		at   string // "stop" or "start": the job during which the Ctrl-C comes
		want string // "": the command is done
	}{
		{"reset, at the stop", []string{"reset", "srv1", "--yes"}, "stop", "interrupted: nothing was removed; srv1 was started again"},
		{"reset --no-backup, at the stop", []string{"reset", "srv1", "--yes", "--no-backup"}, "stop", "interrupted: nothing was removed; srv1 was started again"},
		{"delete, at the stop", []string{"delete", "srv1", "--yes"}, "stop", "interrupted: nothing was removed; srv1 was started again"},
		{"reset, at the start", []string{"reset", "srv1", "--yes"}, "start", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te, cfg := backedUpAndChanged(t)
			te.Last = &lastwords.Line{}
			unit := clienv.UnitOf("srv1")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var said []string
			hook := func(string) { said = append(said, te.Last.String()); cancel() }
			if tc.at == "stop" {
				te.sd.stopped = hook
			} else {
				te.sd.starting = hook
			}
			before := backupIDs(t, te, "srv1")
			te.sd.calls = nil
			err := Run(ctx, te.Env, append([]string{"left4me"}, tc.args...))
			if got := jobs(te.sd); !slices.Equal(got, []string{"stop " + unit, "start " + unit}) {
				t.Errorf("jobs %v, want a stop and a start", got)
			}
			if u := te.sd.get(unit); u.ActiveState != "active" {
				t.Errorf("the server is %s", u.ActiveState)
			}
			if w := te.Last.String(); w != "" {
				t.Errorf("last words after the command: %q", w)
			}
			if tc.want == "" {
				if err != nil || exists(cfg) || len(said) != 1 || !strings.Contains(said[0], "srv1 was reset; its start was under way") {
					t.Errorf("err %v, cfg there %v, said %q", err, exists(cfg), said)
				}
				return
			}
			msg, code := fail.Interrupted(err)
			if !errors.Is(err, context.Canceled) || code != fail.CodeInterrupted || !strings.HasPrefix(msg, tc.want) {
				t.Errorf("said %q (exit %d), want %q", msg, code, tc.want)
			}
			if got := readFile(t, cfg); got != "newer\n" || !exists(te.Layout.SpecPath("srv1")) {
				t.Errorf("removed: the cfg holds %q", got)
			}
			if after := backupIDs(t, te, "srv1"); !slices.Equal(after, before) {
				t.Errorf("backups %v, were %v", after, before)
			}
			if len(said) != 1 || !strings.Contains(said[0], "srv1 may be stopped (its stop for the "+tc.args[0]+" was under way) and nothing was removed: `left4me start srv1` starts it again") {
				t.Errorf("last words at the stop: %q", said)
			}
		})
	}
}

// A backup interrupted (Ctrl-C, a stop of its unit) stops, and nothing of
// it is kept: it used to run on to its end whatever was pressed.
func TestBackupInterrupted(t *testing.T) {
	te, _ := backedUpAndChanged(t)
	before := backupIDs(t, te, "srv1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Run(ctx, te.Env, []string{"left4me", "backup", "srv1"})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "srv1: backup interrupted, nothing of it kept") {
		t.Fatalf("got %v, want an interrupt", err)
	}
	if after := backupIDs(t, te, "srv1"); !slices.Equal(after, before) {
		t.Errorf("backups %v, were %v", after, before)
	}
	if dots, _ := filepath.Glob(filepath.Join(dayops.BackupDir(te.Layout, "srv1"), ".*")); len(dots) > 0 {
		t.Errorf("left in the backups: %v", dots)
	}
	// The scheduled unit's (--finish): its stop waits for the backup.
	if err := Run(ctx, te.Env, []string{"left4me", "backup", "--finish", "srv1"}); err != nil {
		t.Fatal(err)
	}
	if after := backupIDs(t, te, "srv1"); len(after) != len(before)+1 {
		t.Errorf("--finish: backups %v, were %v", after, before)
	}
}

// A name that is a path is refused before root looks for, or removes,
// anything a restore left below it (hostile review: `start ../../victim`
// removed victim/upper.restore before the name was checked).
func TestRestoreLeftNameFirst(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	victim := filepath.Join(filepath.Dir(te.Layout.Root), "victim")
	mkdirs(t, filepath.Join(victim, "upper.restore"))
	rel, err := filepath.Rel(te.Layout.RuntimeDir(""), victim)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"start", rel}, {"restart", rel}, {"reset", rel, "--yes"}, {"delete", rel, "--yes"}, {"restore", rel, "--yes"}} {
		if err := te.run(args...); err == nil {
			t.Errorf("%q: no error", args)
		}
		if !exists(filepath.Join(victim, "upper.restore")) || strings.Contains(te.out.String(), "victim") {
			t.Fatalf("%q reached %s:\n%s", args, victim, te.out)
		}
	}
}

// A restore whose backup is in place but whose replaced tree could not
// all be removed is a restore done, said with what is left and the undo
// line, not "nothing was restored" (hostile review).
func TestRestoreReplacedLeft(t *testing.T) {
	te, cfg := backedUpAndChanged(t)
	te.sd.set(clienv.UnitOf("srv1"), "inactive", "dead")
	stuck := filepath.Join(te.Layout.RuntimeDir("srv1"), "upper", "stuck")
	writeFile(t, stuck, "old\n")
	if err := treetest.Immutable(stuck, true); err != nil {
		t.Skipf("no immutable flag here: %v", err)
	}
	t.Cleanup(func() {
		_ = treetest.Immutable(filepath.Join(te.Layout.RuntimeDir("srv1"), "upper.restore", "stuck"), false)
		_ = treetest.Immutable(stuck, false)
	})
	if err := te.run("restore", "srv1", "--yes"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	out, errs := te.out.String(), te.err.String()
	if !strings.Contains(out, "srv1: restored backup ") || !strings.Contains(out, "srv1: to undo the restore: left4me restore srv1 ") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(errs, "the backup is in place, but what it replaced could not all be removed") || !strings.Contains(errs, "the next left4me restore, reset or delete of srv1 removes it") {
		t.Errorf("stderr:\n%s", errs)
	}
	if got := readFile(t, cfg); got == "newer\n" {
		t.Errorf("the upper layer was not restored")
	}
}
