package commands

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// withRuntime adds a spec and a runtime tree with a file in its upper layer.
func withRuntime(t *testing.T, te *tenv, name string) string {
	te.spec(t, name, "port: 27015\n")
	rt := te.Layout.RuntimeDir(name)
	mkdirs(t, filepath.Join(rt, "upper", "left4dead2"), filepath.Join(rt, "work"), filepath.Join(rt, "merged"))
	writeFile(t, filepath.Join(rt, "upper", "left4dead2", "banned_user.cfg"), "banid 0 STEAM_1\n")
	writeFile(t, filepath.Join(rt, "ports"), "game 27015\n")
	return rt
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// resetDone reports whether runtime/NAME at rt holds nothing but the
// port record a reset keeps.
func resetDone(rt string) bool {
	ents, err := os.ReadDir(rt)
	return err == nil && len(ents) == 1 && ents[0].Name() == "ports"
}

func TestConfirmation(t *testing.T) {
	cases := []struct {
		name     string
		terminal bool
		stdin    string
		args     []string
		euid     int
		code     int    // 0: proceeds
		want     string // in the error, or on stderr when proceeding
	}{
		{"no terminal, no --yes", false, "y\n", nil, 0, fail.CodeUsage, "pass --yes"},
		{"terminal, answer no", true, "n\n", nil, 0, fail.CodeUsage, "nothing was changed"},
		{"terminal, empty answer", true, "", nil, 0, fail.CodeUsage, "nothing was changed"},
		{"terminal, answer yes", true, "yes\n", nil, 0, 0, "Proceed? [y/N]"},
		{"--yes", false, "", []string{"--yes"}, 0, 0, ""},
		{"-y", false, "", []string{"-y"}, 0, 0, ""},
		{"not root", true, "y\n", []string{"--yes"}, 1000, fail.CodePermission, "needs root; run: sudo left4me"},
	}
	for _, op := range []string{"reset", "delete"} {
		for _, c := range cases {
			t.Run(op+"/"+c.name, func(t *testing.T) {
				te := newEnv(t)
				rt := withRuntime(t, te, "srv1")
				te.Terminal, te.Stdin, te.Euid = c.terminal, strings.NewReader(c.stdin), c.euid
				err := te.run(append([]string{op, "srv1"}, c.args...)...)
				if fail.Code(err) != c.code {
					t.Fatalf("code %d (%v), want %d", fail.Code(err), err, c.code)
				}
				if c.code != 0 {
					if !strings.Contains(err.Error(), c.want) {
						t.Errorf("error %q lacks %q", err, c.want)
					}
					if !exists(rt) || !exists(te.Layout.SpecPath("srv1")) || len(te.sd.calls) != 0 {
						t.Errorf("changed something without confirmation: calls %v", te.sd.calls)
					}
					return
				}
				if !strings.Contains(te.err.String(), c.want) {
					t.Errorf("stderr %q lacks %q", te.err, c.want)
				}
				if gone := !exists(rt) || op == "reset" && resetDone(rt); !gone {
					t.Errorf("%s still there", rt)
				}
				if exists(te.Layout.SpecPath("srv1")) != (op == "reset") {
					t.Errorf("spec exists = %v after %s", !(op == "reset"), op)
				}
			})
		}
	}
}

func TestResetRunning(t *testing.T) {
	te := newEnv(t)
	rt := withRuntime(t, te, "srv1")
	outside := filepath.Join(te.Layout.Root, "installation")
	os.Symlink(outside, filepath.Join(rt, "upper", "escape"))
	te.sd.set("l4d2@srv1.service", "active", "running")
	if err := te.run("reset", "srv1", "--yes"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "stop l4d2@srv1.service,start l4d2@srv1.service" {
		t.Errorf("calls %s", got)
	}
	if !resetDone(rt) || !exists(filepath.Join(outside, "srcds_run")) || !exists(te.Layout.SpecPath("srv1")) {
		t.Error("reset removed the wrong things")
	}
	if !strings.Contains(te.out.String(), "srv1: removed "+rt+" but its ports record") {
		t.Errorf("stdout %q", te.out)
	}
}

func TestResetStoppedStaysStopped(t *testing.T) {
	te := newEnv(t)
	withRuntime(t, te, "srv1")
	if err := te.run("reset", "srv1", "--yes"); err != nil {
		t.Fatal(err)
	}
	if len(te.sd.calls) != 0 {
		t.Errorf("calls %v", te.sd.calls)
	}
}

func TestResetRefusesSymlinkAndMount(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "srv1", "port: 27001\n")
	os.Symlink(filepath.Join(te.Layout.Root, "installation"), te.Layout.RuntimeDir("srv1"))
	err := te.run("reset", "srv1", "--yes")
	if err == nil || !strings.Contains(err.Error(), "symbolic link") || !exists(filepath.Join(te.Layout.Root, "installation", "srcds_run")) {
		t.Fatalf("symlink: %v", err)
	}
	rt := withRuntime(t, te, "srv2")
	real, _ := filepath.EvalSymlinks(rt)
	writeFile(t, te.MountInfo, "40 22 0:35 / "+real+"/merged rw - overlay overlay rw\n")
	te.sd.set("l4d2@srv2.service", "active", "running")
	err = te.run("reset", "srv2", "--yes")
	if err == nil || !strings.Contains(err.Error(), "still mounted") || !exists(filepath.Join(rt, "upper")) {
		t.Fatalf("mounted: %v", err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "stop l4d2@srv2.service,start l4d2@srv2.service" {
		t.Errorf("a running instance must be started again after a refused reset: %s", got)
	}
}

func TestDelete(t *testing.T) {
	te := newEnv(t)
	rt := withRuntime(t, te, "srv1")
	te.sd.set("l4d2@srv1.service", "failed", "failed")
	if err := te.run("delete", "srv1", "--yes"); err != nil {
		t.Fatal(err)
	}
	if exists(rt) || exists(te.Layout.SpecPath("srv1")) {
		t.Error("not removed")
	}
	for _, d := range []string{"installation/srcds_run", "overlays", "runtime"} {
		if !exists(filepath.Join(te.Layout.Root, d)) {
			t.Errorf("%s removed", d)
		}
	}
	if got := strings.Join(te.sd.calls, ","); got != "reload,reset-failed l4d2@srv1.service" {
		t.Errorf("calls %s", got)
	}
}

func TestDestructiveNeedSystemd(t *testing.T) {
	te := newEnv(t)
	rt := withRuntime(t, te, "srv1")
	te.noSystemd()
	for _, op := range []string{"reset", "delete"} {
		if err := te.run(op, "srv1", "--yes"); fail.Code(err) != fail.CodeNoSystemd {
			t.Errorf("%s: %v", op, err)
		}
	}
	if !exists(rt) {
		t.Error("removed without knowing whether it runs")
	}
}

// reset and delete never kick players unasked: --yes alone refuses while
// humans play, a person is told who plays before answering, --force goes
// ahead.
func TestRemovalWithPlayers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		terminal bool
		stdin    string
		humans   int
		done     bool   // runtime removed
		want     string // in the error or on stderr
	}{
		{"--yes refuses", []string{"reset", "srv1", "--yes", "--no-backup"}, false, "", 2, false, "srv1 has 2 player(s) on it now: they would be kicked; nothing was done: `left4me stop srv1 --when-empty --deadline 30m` first, or pass --force"},
		{"--force goes ahead", []string{"reset", "srv1", "--yes", "--force", "--no-backup"}, false, "", 2, true, ""},
		{"a person is told", []string{"delete", "srv1", "--no-backup"}, true, "n\n", 2, false, "srv1 has 2 player(s) on it now: they would be kicked. Delete srv1"},
		{"nobody plays", []string{"reset", "srv1", "--yes", "--no-backup"}, false, "", 0, true, ""},
		// Still starting (after a crash, say): nobody can be on it yet, and
		// it cannot be asked; that is no reason to refuse.
		{"still starting", []string{"reset", "srv1", "--yes", "--no-backup"}, false, "", -1, true, ""},
		// Nobody on yet, but a lobby reserved it (its console's status).
		{"reserved", []string{"reset", "srv1", "--yes", "--no-backup"}, false, "", -2, false, "srv1 is reserved by a lobby: players on their way are turned away; nothing was done: `left4me stop srv1 --when-empty --deadline 30m` first, or pass --force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			rt := withRuntime(t, te, "srv1")
			te.sd.set(clienv.UnitOf("srv1"), "active", "running")
			te.Players = func(context.Context, string) (int, int, error) { return tc.humans, 0, nil }
			if tc.humans == -2 {
				te.Players = func(context.Context, string) (int, int, error) { return 0, 0, nil }
				te.relayIsUs("srv1")
				te.ConsoleDir = answeringConsole(t, "srv1", "hostname: srv1\nplayers : 0 humans, 0 bots (8 max) (not hibernating) (reserved 186000047cf0fd8)\n")
			} else if tc.humans < 0 {
				te.sd.set(clienv.UnitOf("srv1"), "activating", "start")
				te.Players = func(context.Context, string) (int, int, error) { return 0, 0, errors.New("no answer") }
			}
			te.Terminal, te.Stdin = tc.terminal, strings.NewReader(tc.stdin)
			err := te.run(tc.args...)
			if tc.done != (err == nil) {
				t.Fatalf("%v\nstderr %s", err, te.err)
			}
			if _, serr := os.Stat(filepath.Join(rt, "upper")); tc.done == (serr == nil) {
				t.Errorf("upper layer there: %v, want removed %v", serr == nil, tc.done)
			}
			if got := fmt.Sprint(err) + te.err.String(); tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("got %s\nwant %q", got, tc.want)
			}
			if !tc.done && slices.Contains(te.sd.calls, "stop "+clienv.UnitOf("srv1")) {
				t.Errorf("stopped: %v", te.sd.calls)
			}
			// A refusal ran no job: it says none failed, and exits as one.
			if !tc.done && (strings.Contains(err.Error(), "job failed") || fail.Code(err) != fail.CodeUsage) {
				t.Errorf("refusal %q exits %d, want %d and no \"job failed\"", err, fail.Code(err), fail.CodeUsage)
			}
		})
	}
}

// A spec removed by hand left runtime/NAME behind (and perhaps its server
// running): delete takes that, backing it up first; a name with neither
// is unknown.
func TestDeleteWhatASpecLeftBehind(t *testing.T) {
	te := newEnv(t)
	rt := withRuntime(t, te, "srv1")
	if err := os.Remove(te.Layout.SpecPath("srv1")); err != nil {
		t.Fatal(err)
	}
	if err := te.run("delete", "srv1", "--yes"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if exists(rt) || !strings.Contains(te.out.String(), "srv1: had no spec") || len(backupIDs(t, te, "srv1")) != 1 {
		t.Errorf("runtime left %v, out %s", exists(rt), te.out)
	}
	if err := te.run("delete", "srv1", "--yes"); fail.Code(err) != fail.CodeUnknownInstance {
		t.Errorf("a second delete: %v", err)
	}
	if err := te.run("reset", "srv1", "--yes"); fail.Code(err) != fail.CodeUnknownInstance {
		t.Errorf("reset of what has no spec: %v", err)
	}
}

// A spec created while delete takes what an orphan left behind is someone's
// new instance: it stays.
func TestDeleteLeftoversKeepsASpecCreatedMeanwhile(t *testing.T) {
	te := newEnv(t)
	withRuntime(t, te, "srv1")
	spec := te.Layout.SpecPath("srv1")
	if err := os.Remove(spec); err != nil {
		t.Fatal(err)
	}
	te.sd.set(clienv.UnitOf("srv1"), "active", "running")
	te.sd.stopped = func(string) { writeFile(t, spec, "port: 27099\n") }
	if err := te.run("delete", "srv1", "--yes", "--force"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	if b, err := os.ReadFile(spec); err != nil || string(b) != "port: 27099\n" {
		t.Errorf("the spec created meanwhile: %q, %v", b, err)
	}
	if !strings.Contains(te.out.String(), "was created meanwhile: left alone") {
		t.Errorf("out %s", te.out)
	}
}

// Asked on a terminal, delete says what it takes of a name whose spec is
// gone: not the spec file, which is not there.
func TestDeleteLeftoversPrompt(t *testing.T) {
	te := newEnv(t)
	withRuntime(t, te, "srv1")
	spec := te.Layout.SpecPath("srv1")
	if err := os.Remove(spec); err != nil {
		t.Fatal(err)
	}
	te.Terminal, te.Stdin = true, strings.NewReader("y\n")
	if err := te.run("delete", "srv1"); err != nil {
		t.Fatalf("%v\n%s", err, te.err)
	}
	said := te.out.String() + te.err.String()
	if !strings.Contains(said, "Delete what srv1 left behind (its spec "+spec+" was removed by hand)") || strings.Contains(said, "spec unusable") {
		t.Errorf("said:\n%s", said)
	}
}

// A person may answer minutes after the question: players who joined
// meanwhile, when it named nobody, take the yes back (reset, delete and
// restore alike); players who left do not, nor more players than it named.
func TestPlayersJoinDuringQuestion(t *testing.T) {
	for _, tc := range []struct {
		name          string
		args          []string
		before, after int
		done          bool
	}{
		{"reset, nobody then 2", []string{"reset", "srv1", "--no-backup"}, 0, 2, false},
		{"delete, nobody then 1", []string{"delete", "srv1", "--no-backup"}, 0, 1, false},
		{"restore, nobody then 3", []string{"restore", "srv1"}, 0, 3, false},
		{"reset, nobody before or after", []string{"reset", "srv1", "--no-backup"}, 0, 0, true},
		{"reset, 2 then 3: they were asked about", []string{"reset", "srv1", "--no-backup"}, 2, 3, true},
		{"restore, 2 then 0", []string{"restore", "srv1"}, 2, 0, true},
		// Still starting when asked and after: nobody was named, and a
		// server that cannot be asked yet has no news.
		{"reset, still starting", []string{"reset", "srv1", "--no-backup"}, -1, -1, true},
		// Started while asked, and a lobby reserved it.
		{"delete, reserved since", []string{"delete", "srv1", "--no-backup"}, 0, -2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			rt := withRuntime(t, te, "srv1")
			if tc.args[0] == "restore" {
				if err := te.run("backup", "srv1"); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(rt, "upper", "left4dead2", "banned_user.cfg"), "newer\n")
			}
			te.sd.set(clienv.UnitOf("srv1"), "active", "running")
			if tc.before < 0 {
				te.sd.set(clienv.UnitOf("srv1"), "activating", "start")
			}
			var asked atomic.Bool // read by the console's goroutine too
			te.Players = func(context.Context, string) (int, int, error) {
				n := tc.before
				if asked.Load() {
					n = tc.after
				}
				if n == -1 {
					return 0, 0, errors.New("no answer")
				}
				return max(n, 0), 0, nil
			}
			if tc.after == -2 { // the console says so once the question waited
				te.relayIsUs("srv1")
				te.ConsoleDir = serveConsole(t, "srv1", func(line string) string {
					if w, ok := strings.CutPrefix(line, "echo "); ok {
						return w + " \n"
					}
					if line != "status" {
						return ""
					}
					if !asked.Load() {
						return "hostname: srv1\nplayers : 0 humans, 0 bots (8 max) (not hibernating) (unreserved)\n"
					}
					return "hostname: srv1\nplayers : 0 humans, 0 bots (8 max) (not hibernating) (reserved 186000047cf0fd8)\n"
				})
			}
			te.Terminal, te.Stdin = true, answerer{r: strings.NewReader("y\n"), read: &asked}
			err := te.run(tc.args...)
			if tc.done != (err == nil) {
				t.Fatalf("%v\nstderr %s", err, te.err)
			}
			if !tc.done {
				want := fmt.Sprintf("since the question, srv1 has %d player(s) on it now: they would be kicked; nothing was done", tc.after)
				if tc.after == -2 {
					want = "since the question, srv1 is reserved by a lobby"
				}
				if !strings.Contains(err.Error(), want) {
					t.Errorf("got %v\nwant %q", err, want)
				}
				if slices.Contains(te.sd.calls, "stop "+clienv.UnitOf("srv1")) {
					t.Errorf("stopped: %v", te.sd.calls)
				}
				if got := readFile(t, filepath.Join(rt, "upper", "left4dead2", "banned_user.cfg")); tc.args[0] == "restore" && got != "newer\n" {
					t.Errorf("restored: %q", got)
				}
				if _, serr := os.Stat(filepath.Join(rt, "upper")); serr != nil {
					t.Errorf("upper layer: %v", serr)
				}
			}
		})
	}
}

// answerer is a person's terminal: what they type, and whether they have
// been asked (read from) yet.
type answerer struct {
	r    io.Reader
	read *atomic.Bool
}

func (a answerer) Read(p []byte) (int, error) {
	a.read.Store(true)
	return a.r.Read(p)
}

// A reset keeps runtime/NAME/dumps, the evidence of the crashes, and says
// so; a delete removes them but names them in its question and its
// output, so no dump is lost silently. A dumps that is a link or a file
// is no dumps directory: it goes (the link not followed) and counts none.
func TestRemovalCrashDumps(t *testing.T) {
	for _, tc := range []struct {
		name     string
		op       string
		dumps    string // "dir" (2 dumps), "link" (to a directory outside), "file", "": none
		terminal bool
		want     []string // on stdout or stderr; RT stands for runtime/NAME
		not      []string
		kept     bool // runtime/NAME/dumps there after, as a directory
	}{
		{"reset --yes keeps them", "reset", "dir", false,
			[]string{"srv1: removed RT but its ports record; kept 2 crash dump(s) in RT/dumps\n"}, nil, true},
		{"reset asks saying they stay", "reset", "dir", true,
			[]string{"delete RT (everything the server wrote; its 2 crash dump(s) in RT/dumps are kept)", "kept 2 crash dump(s)"}, nil, true},
		{"reset, none", "reset", "", true,
			[]string{"crash dumps in RT/dumps are kept", "srv1: removed RT but its ports record\n"}, []string{"kept 0", "crash dump(s)"}, false},
		{"reset, dumps a link", "reset", "link", false,
			[]string{"srv1: removed RT but its ports record\n"}, []string{"crash dump"}, false},
		{"reset, dumps a file", "reset", "file", false,
			[]string{"srv1: removed RT but its ports record\n"}, []string{"crash dump"}, false},
		{"delete --yes names them", "delete", "dir", false,
			[]string{"srv1: removed RT and its 2 crash dump(s) (RT/dumps)\n"}, nil, false},
		{"delete asks naming them", "delete", "dir", true,
			[]string{"delete RT (everything the server wrote, and its 2 crash dump(s) in RT/dumps) and ", "and its 2 crash dump(s) (RT/dumps)"}, nil, false},
		{"delete, none", "delete", "", true,
			[]string{"delete RT (everything the server wrote) and ", "srv1: removed RT\n"}, []string{"crash dump"}, false},
		{"delete, dumps a link", "delete", "link", false,
			[]string{"srv1: removed RT\n"}, []string{"crash dump"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := newEnv(t)
			te.Euid = 0
			rt := withRuntime(t, te, "srv1")
			outside := filepath.Join(te.Layout.Root, "installation")
			dumps := filepath.Join(rt, "dumps")
			switch tc.dumps {
			case "dir":
				mkdirs(t, dumps)
				writeFile(t, filepath.Join(dumps, "crash1.dmp"), "dump")
				writeFile(t, filepath.Join(dumps, "crash2.dmp"), "dump")
			case "link":
				if err := os.Symlink(outside, dumps); err != nil {
					t.Fatal(err)
				}
			case "file":
				writeFile(t, dumps, "dump")
			}
			args := []string{tc.op, "srv1"}
			if tc.terminal {
				te.Terminal, te.Stdin = true, strings.NewReader("y\n")
			} else {
				args = append(args, "--yes")
			}
			if err := te.run(args...); err != nil {
				t.Fatalf("%v\n%s", err, te.err)
			}
			said := te.out.String() + te.err.String()
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "RT", rt); !strings.Contains(said, w) {
					t.Errorf("lacks %q:\n%s", w, said)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(said, w) {
					t.Errorf("says %q:\n%s", w, said)
				}
			}
			// Not kept: gone, a link or file in its place included.
			st, err := os.Lstat(dumps)
			if kept := err == nil && st.IsDir(); kept != tc.kept || !tc.kept && err == nil {
				t.Errorf("dumps kept %v (%v, %v), want %v", kept, st, err, tc.kept)
			}
			if tc.kept {
				if ents, err := os.ReadDir(dumps); err != nil || len(ents) != 2 {
					t.Errorf("dumps hold %v (%v)", ents, err)
				}
			}
			if tc.op == "reset" {
				if _, err := os.Lstat(filepath.Join(rt, "upper")); err == nil {
					t.Error("upper layer not removed")
				}
				if !exists(filepath.Join(rt, "ports")) {
					t.Error("ports record removed")
				}
			}
			if !exists(filepath.Join(outside, "srcds_run")) {
				t.Error("a link was followed out of the tree")
			}
		})
	}
}

// Both commands' help says what becomes of the crash dumps.
func TestRemovalHelpNamesDumps(t *testing.T) {
	for op, want := range map[string][]string{
		"reset":  {"its crash dumps are kept", "runtime/NAME/dumps"},
		"delete": {"crash dumps included", "runtime/NAME/dumps"},
	} {
		te := newEnv(t)
		if err := te.run(op, "--help"); err != nil {
			t.Fatal(err)
		}
		help := strings.Join(strings.Fields(te.out.String()), " ")
		for _, w := range want {
			if !strings.Contains(help, w) {
				t.Errorf("%s --help lacks %q:\n%s", op, w, te.out)
			}
		}
	}
}
