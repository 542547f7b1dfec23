package commands

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
)

func TestStopWhenEmpty(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "b", "port: 27002\n")
	te.spec(t, "c", "port: 27003\n")
	for _, n := range []string{"a", "b", "c"} {
		te.sd.set("l4d2@"+n+".service", "active", "running")
	}
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	asked := map[int]int{}
	// a empties on the third poll, b never answers (hung, or on another
	// address), c stays occupied past the deadline.
	te.Players = func(_ context.Context, addr string) (int, int, error) {
		port, _ := strconv.Atoi(strings.TrimPrefix(addr, "127.0.0.1:"))
		asked[port]++
		switch {
		case port == 27002:
			return 0, 0, errors.New("no reply")
		case port == 27001 && asked[port] >= 3:
			return 0, 0, nil
		}
		return 4, 0, nil
	}
	err := te.run("stop", "--when-empty", "--deadline", "200ms", "a", "b", "c")
	if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(err.Error(), "after 200ms, left running: b, c") {
		t.Fatalf("got %v", err)
	}
	if got := strings.Join(te.sd.calls, ","); got != "stop l4d2@a.service" {
		t.Errorf("calls %s", got)
	}
	if !strings.Contains(te.err.String(), "b: cannot ask its server for players (no answer on 127.0.0.1:27002: no reply; nor a count from its console: it has none open); it may have some, so it waits") {
		t.Errorf("stderr %q", te.err.String())
	}
	if !strings.Contains(te.out.String(), "c: 4 player(s) on port 27003; waiting") {
		t.Errorf("stdout %q", te.out.String())
	}
}

// The server is asked where it runs, not where its edited spec says: a
// port changed in the spec (not yet applied) must not make an occupied
// server look empty.
func TestWhenEmptyAsksTheRunningPort(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.sd.set("l4d2@a.service", "active", "running")
	te.spec(t, "a", "port: 27099\n") // edited while it runs
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	te.Players = func(_ context.Context, addr string) (int, int, error) {
		if addr == "127.0.0.1:27001" {
			return 3, 0, nil
		}
		return 0, 0, errors.New("no reply")
	}
	err := te.run("restart", "--when-empty", "--deadline", "30ms", "a")
	if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(err.Error(), "left running: a") {
		t.Fatalf("got %v", err)
	}
	for _, c := range te.sd.calls {
		if strings.HasPrefix(c, "restart") {
			t.Errorf("restarted an occupied server: %v", te.sd.calls)
		}
	}
	if !strings.Contains(te.out.String(), "a: 3 player(s) on port 27001; waiting") {
		t.Errorf("stdout %q", te.out.String())
	}
}

// Each flag means one thing: one that would do nothing is refused.
func TestWhenEmptyFlags(t *testing.T) {
	cases := []struct {
		args []string
		err  string // "" = accepted
	}{
		{[]string{"restart", "--deadline", "5m", "a"}, "--deadline only means something with --when-empty"},
		{[]string{"stop", "--force", "a"}, "--force only means something with --when-empty"},
		{[]string{"restart", "--when-empty", "--warn-at", "1m", "a"}, "--warn-at goes with --force"},
		{[]string{"restart", "--when-empty", "--announce", "bye %s", "a"}, "--announce goes with --force"},
		{[]string{"restart", "--when-empty", "--deadline", "0", "--force", "a"}, "--force with --deadline 0"},
		{[]string{"restart", "--when-empty", "--deadline", "-5m", "a"}, "cannot be negative"},
		{[]string{"overlay", "build", "--now", "--deadline", "5m", "x"}, "--deadline only means something without --now"},
		{[]string{"restart", "--when-empty", "--deadline", "0", "a"}, ""},
	}
	for _, c := range cases {
		te := newEnv(t)
		te.spec(t, "a", "port: 27001\n")
		te.Euid = 0
		err := te.run(c.args...)
		if c.err == "" {
			if err != nil {
				t.Errorf("%q: %v", c.args, err)
			}
			continue
		}
		if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: got %v, want usage error %q", c.args, err, c.err)
		}
	}
}

// A server that drops queries is asked on its console: an empty L4D2
// server hibernates and answers no A2S, and must not wait out the
// deadline as if occupied; one whose status counts players waits, asked
// on its console at most every 30 s however often A2S is. A count of none
// is asked again just before the restart (a player may have joined).
func TestWhenEmptyAsksTheConsole(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		restarted    bool
		out          string
		asks         int
	}{
		{"hibernating", "hostname: a\nplayers : 0 humans, 0 bots (8 max) (hibernating)\n\n#end\n", true, "a: restarted", 2},
		{"occupied", "hostname: a\nplayers : 2 humans, 0 bots (8 max) (not hibernating)\n", false, "a: 2 player(s) on port 27001; waiting", 1},
		// A line that merely contains the words, as a player's chat
		// might, is no count.
		{"no count", "hostname: a\nplayers: 0 humans, gg\nUnknown command \"status\"\n", false, "nor a count from its console: console of a: its status was not one hostname and one players line (0 players lines)", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := runningA(t)
			te.Players = func(context.Context, string) (int, int, error) { return 0, 0, errors.New("no reply") }
			te.ConsoleDir = answeringConsole(t, "a", tc.answer)
			asked := te.ConsoleDir + "/asked"
			err := te.run("restart", "--when-empty", "--deadline", "300ms", "a")
			restarted := slices.Contains(te.sd.calls, "restart l4d2@a.service")
			if restarted != tc.restarted || (tc.restarted && err != nil) {
				t.Fatalf("restarted %v (calls %v), err %v\n%s%s", restarted, te.sd.calls, err, te.out, te.err)
			}
			if !strings.Contains(te.out.String()+te.err.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s%s", tc.out, te.out, te.err)
			}
			if n := countLines(t, asked, "status"); n != tc.asks {
				t.Errorf("the console was asked %d times, want %d", n, tc.asks)
			}
		})
	}
}

// answeringConsole serves name's console: each "status" is answered with
// answer; every line typed is noted in DIR/asked.
func answeringConsole(t *testing.T, name, answer string) string {
	return serveConsole(t, name, func(line string) string {
		if w, ok := strings.CutPrefix(line, "echo "); ok {
			return w + " \n" // Cmd_Echo_f: each word and a space
		}
		if line == "status" {
			return answer
		}
		return ""
	})
}

// serveConsole serves a console socket for instance name, as left4me-relay
// does: answer gives what the server prints for each line typed, and every
// line typed is noted in DIR/asked. It returns DIR.
func serveConsole(t *testing.T, name string, answer func(line string) string) string {
	t.Helper()
	l, dir := consoleListener(t, name)
	log, err := os.Create(filepath.Join(dir, "asked"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				sc := bufio.NewScanner(conn)
				for sc.Scan() {
					fmt.Fprintln(log, sc.Text())
					fmt.Fprint(conn, answer(sc.Text()))
				}
			}()
		}
	}()
	return dir
}

// countLines counts the lines of path that are line.
func countLines(t *testing.T, path, line string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// A name in an overlay definition's restart: with no spec is refused
// before the build, naming it: a typo would leave that server on the old
// version without a word.
func TestOverlayBuildRestartTypo(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	te.spec(t, "srv1", "port: 27015\noverlays: [o2]\n")
	mkdirs(t, filepath.Join(te.Layout.ConfigDir, "overlays"))
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "overlays", "o2.yaml"), "builder: b.sh\nrestart: [srv1, srv01]\n")
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "overlays", "b.sh"), "exit 0\n")
	err := te.run("overlay", "build", "o2")
	if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), `o2.yaml: restart: there is no instance "srv01"`) {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(te.out.String(), "build") {
		t.Errorf("the build began:\n%s", te.out)
	}
}

// A definition whose builder is missing is refused before a build is
// announced (and recorded as failed).
func TestOverlayBuildNoBuilder(t *testing.T) {
	te := newEnv(t)
	te.Euid = 0
	mkdirs(t, filepath.Join(te.Layout.ConfigDir, "overlays"))
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "overlays", "o2.yaml"), "builder: gone.sh\n")
	err := te.run("overlay", "build", "o2")
	if err == nil || !strings.Contains(err.Error(), "o2.yaml: builder: stat ") || !strings.Contains(err.Error(), "gone.sh: no such file or directory") || strings.Contains(te.out.String(), "build") {
		t.Fatalf("got %v\n%s", err, te.out)
	}
}

// overlay status says a definition cannot build, at its line, instead of
// listing the overlay as merely never built.
func TestOverlayStatusBadDefinition(t *testing.T) {
	te := newEnv(t)
	mkdirs(t, filepath.Join(te.Layout.ConfigDir, "overlays"))
	writeFile(t, filepath.Join(te.Layout.ConfigDir, "overlays", "o2.yaml"), "buildr: b.sh\n")
	if err := te.run("overlay", "status", "o2"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(te.out.String(), "definition unusable: ") || !strings.Contains(te.out.String(), "o2.yaml:1:1: buildr: unknown key; did you mean builder?") {
		t.Errorf("status:\n%s", te.out)
	}
}

// A spec broken while its server waits for its players to leave: the
// restart is judged again before it stops anything, and the server runs
// on. One stopped by someone during the wait stays stopped.
func TestWhenEmptyJudgesAgainBeforeActing(t *testing.T) {
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.spec(t, "b", "port: 27002\n")
	for _, n := range []string{"a", "b"} {
		te.sd.set("l4d2@"+n+".service", "active", "running")
	}
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	polls := 0
	te.Players = func(_ context.Context, addr string) (int, int, error) {
		polls++
		if polls == 3 { // both were asked once and played: now a is broken, b stopped
			writeFile(t, te.Layout.SpecPath("a"), "port: 27001\nbogus: 1\n")
			te.sd.set("l4d2@b.service", "inactive", "dead")
		}
		if polls <= 2 {
			return 2, 0, nil
		}
		return 0, 0, nil
	}
	err := te.run("restart", "--when-empty", "--deadline", "1m", "a", "b")
	if !errors.Is(err, fail.ErrJobFailed) || !strings.Contains(te.err.String(), "a: a start would now fail (its spec, an overlay or the game changed while it waited), so it was left as it is") ||
		!strings.Contains(te.err.String(), "bogus") {
		t.Errorf("err %v\nstderr %s", err, te.err)
	}
	if len(te.sd.calls) != 0 {
		t.Errorf("acted: %v", te.sd.calls)
	}
	if !strings.Contains(te.out.String(), "b: stopped meanwhile; left stopped") || te.sd.units["l4d2@a.service"].ActiveState != "active" {
		t.Errorf("stdout %s\nunits %+v", te.out, te.sd.units)
	}
}

// Bots on a server make A2S_INFO's count ambiguous: Steam's servers count
// them among the players, the L4D branch may count humans alone (and a
// plugin may make either true), so players minus bots could read 0 with
// somebody playing. The console's status decides; without it the server
// counts as having as many humans as A2S says players.
func TestWhenEmptyBotsAskTheConsole(t *testing.T) {
	for _, tc := range []struct {
		name          string
		players, bots int
		answer        string // "" = no console
		restarted     bool
		out           string
	}{
		{"humans alone in players, bots beside", 1, 3, "hostname: a\nplayers : 1 humans, 3 bots (8 max)\n", false, "a: 1 player(s) on port 27001; waiting"},
		{"bots alone", 3, 3, "hostname: a\nplayers : 0 humans, 3 bots (8 max)\n", true, "a: restarted"},
		{"no console: as many as players", 1, 3, "", false, "a: 1 player(s) on port 27001; waiting"},
		{"no bots: A2S alone", 0, 0, "", true, "a: restarted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := runningA(t)
			te.Players = func(context.Context, string) (int, int, error) { return tc.players, tc.bots, nil }
			if tc.answer != "" {
				te.ConsoleDir = answeringConsole(t, "a", tc.answer)
			} else {
				te.ConsoleDir = t.TempDir()
			}
			err := te.run("restart", "--when-empty", "--deadline", "100ms", "a")
			restarted := slices.Contains(te.sd.calls, "restart l4d2@a.service")
			if restarted != tc.restarted || (tc.restarted && err != nil) {
				t.Fatalf("restarted %v (calls %v), err %v\n%s%s", restarted, te.sd.calls, err, te.out, te.err)
			}
			if !strings.Contains(te.out.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s%s", tc.out, te.out, te.err)
			}
		})
	}
}

// A server a lobby reserved has nobody connected yet, and answers A2S
// with no players: its players are on their way, and only its console's
// status says so. It waits like an occupied one, until the reservation
// ends (its players came, or its time ran out) or the deadline. The
// reserved answer is never reused: a reservation lasts a minute at most,
// and its end is seen at the next count.
func TestWhenEmptyReservedWaits(t *testing.T) {
	const (
		reserved   = "hostname: a\nplayers : 0 humans, 0 bots (12 max) (not hibernating) (reserved 186000047cf0fd8)\n\n#end\n"
		unreserved = "hostname: a\nplayers : 0 humans, 0 bots (12 max) (not hibernating) (unreserved)\n\n#end\n"
	)
	for _, tc := range []struct {
		name      string
		answers   []string // one per status, the last one repeated
		deadline  string
		restarted bool
		out       string
		asks      int
	}{
		{"until it ends", []string{reserved, reserved, unreserved}, "10m", true, "a: reserved by a lobby: its players may be on their way; waiting", 4},
		{"past the deadline", []string{reserved}, "2m", false, "a: reserved by a lobby: its players may be on their way; waiting", 2},
		// Reserved between the count and the job: the last count
		// before the job sees it.
		{"at the last count", []string{unreserved, reserved, unreserved}, "10m", true, "a: reserved by a lobby meanwhile: its players may be on their way; waiting", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			te := runningA(t)
			te.Players = func(context.Context, string) (int, int, error) { return 0, 0, nil }
			var mu sync.Mutex
			n := 0
			te.ConsoleDir = serveConsole(t, "a", func(line string) string {
				if w, ok := strings.CutPrefix(line, "echo "); ok {
					return w + " \n"
				}
				if line != "status" {
					return ""
				}
				mu.Lock()
				defer mu.Unlock()
				n++
				return tc.answers[min(n, len(tc.answers))-1]
			})
			clock := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
			te.Now = func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				clock = clock.Add(20 * time.Second)
				return clock
			}
			err := te.run("restart", "--when-empty", "--deadline", tc.deadline, "a")
			restarted := slices.Contains(te.sd.calls, "restart l4d2@a.service")
			if restarted != tc.restarted || tc.restarted && err != nil || !tc.restarted && !errors.Is(err, rollout.ErrLeftRunning) {
				t.Fatalf("restarted %v (calls %v), err %v\n%s%s", restarted, te.sd.calls, err, te.out, te.err)
			}
			if !strings.Contains(te.out.String(), tc.out) {
				t.Errorf("output lacks %q:\n%s%s", tc.out, te.out, te.err)
			}
			if !tc.restarted && !strings.Contains(err.Error(), "left running: a (reserved by a lobby, nobody on yet: a)") {
				t.Errorf("the error does not say it was reserved: %v", err)
			}
			if got := countLines(t, filepath.Join(te.ConsoleDir, "asked"), "status"); got < tc.asks {
				t.Errorf("the console was asked %d times, want at least %d", got, tc.asks)
			}
		})
	}
}

// runningA is a host whose instance a (port 27001) runs, its relay this
// test, polled for players every millisecond.
func runningA(t *testing.T) *tenv {
	t.Helper()
	te := newEnv(t)
	te.spec(t, "a", "port: 27001\n")
	te.relayIsUs("a")
	te.Now = time.Now
	te.EmptyPoll = time.Millisecond
	return te
}

// A duration flag typed wrong says which flag, what was typed and what a
// duration is, as --restart-deadline does, not the flag package's
// "invalid value … for flag -deadline: parse error".
func TestBadDurationFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"restart", "srv1", "--when-empty", "--deadline", "2d"}, `--deadline "2d": want a duration such as 2h or 90m (units: h, m, s); see left4me restart --help`},
		{[]string{"overlay", "build", "o2", "--deadline", "1 hour"}, `--deadline "1 hour": want a duration such as 2h or 90m`},
		{[]string{"list", "--host", "h1", "--host-timeout", "x"}, `--host-timeout "x": want a duration`},
		{[]string{"backup", "srv1", "--max-age", "7days"}, `--max-age "7days": want a duration`},
		// A subcommand's bad flag is a usage error too (exit 2), naming it.
		{[]string{"overlay", "build", "o2", "--bogus"}, `flag provided but not defined: -bogus; see left4me overlay build --help`},
		// Not a duration: the flag package's words stay.
		{[]string{"logs", "srv1", "--lines", "many"}, `invalid value "many" for flag -lines`},
	} {
		te := newEnv(t)
		te.Euid = 0
		te.spec(t, "srv1", "port: 27015\n")
		err := te.run(c.args...)
		if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %s", c.args, err, c.want)
		}
	}
}
