package main

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// The text console's line: echoed as kept, printable ASCII only, 254
// characters at most, the rest of a long line lost.
func TestLineEditor(t *testing.T) {
	var echo strings.Builder
	l := &lineEditor{echo: &echo}
	var got []string
	for _, c := range []byte("say caf\xc3\xa9\x1b[2J ok\nsay " + strings.Repeat("x", 300) + "\n") {
		if cmd, done := l.typed(c); done {
			got = append(got, cmd)
		}
	}
	if len(got) != 2 || got[0] != "say caf[2J ok" || len(got[1]) != maxConsoleText-2 {
		t.Fatalf("commands %q", got)
	}
	if !strings.HasPrefix(echo.String(), "say caf[2J ok\n") {
		t.Errorf("echo %q", echo.String())
	}
}

// kickall drops the humans, each said on the console; the bots stay, in
// A2S and in status.
func TestKickall(t *testing.T) {
	s := &server{info: a2s.Info{Players: 5, Bots: 2, MaxPlayers: 8}, names: roster(3, 2)}
	var out strings.Builder
	consoleCommand(&out, "kickall", s, engineArgs{})
	consoleCommand(&out, "kickall", s, engineArgs{}) // nobody left to drop
	if got := strings.Count(out.String(), "Dropped Player"); got != 3 || !strings.Contains(out.String(), "Dropped Player1 from server: Kicked from server\n") {
		t.Errorf("console:\n%s", out.String())
	}
	info, names := s.current()
	if info.Players != 2 || info.Bots != 2 || len(names) != 2 || names[0] != "Coach" {
		t.Errorf("after kickall: %+v %v", info, names)
	}
	if ps := s.players(time.Now()); len(ps) != 2 {
		t.Errorf("A2S_PLAYER: %v", ps)
	}
	out.Reset()
	status(&out, s, engineArgs{})
	if !strings.Contains(out.String(), "players : 0 humans, 2 bots (8 max)") {
		t.Errorf("status:\n%s", out.String())
	}
}

// The last human gone, a hibernating server says so once, punts its bots
// and answers no query; status still counts, and says it hibernates.
func TestHibernateWhenEmptied(t *testing.T) {
	g := &gate{}
	s := &server{info: a2s.Info{Players: 3, Bots: 1, MaxPlayers: 8}, names: roster(2, 1), gate: g}
	var out strings.Builder
	consoleCommand(&out, "kickall", s, engineArgs{})
	if s.humans() != 0 {
		t.Fatalf("%d humans after kickall", s.humans())
	}
	s.hibernate(&out)
	s.hibernate(&out)
	if n := strings.Count(out.String(), "Server is hibernating\n"); n != 1 {
		t.Errorf("said %d times:\n%s", n, out.String())
	}
	if g.answer(netip.MustParseAddr("127.0.0.1"), time.Now()) {
		t.Error("a hibernating server answered a query")
	}
	out.Reset()
	status(&out, s, engineArgs{})
	if !strings.Contains(out.String(), "players : 0 humans, 0 bots (8 max) (hibernating) (unreserved)\n") {
		t.Errorf("status:\n%s", out.String())
	}
}

// A lobby's reservation shows in status, and ends as the engine ends it:
// with nobody on, once it expired and postgameDelay has passed since the
// last human left; not while a human plays.
func TestReservation(t *testing.T) {
	now := time.Now()
	s := &server{info: a2s.Info{Players: 1, MaxPlayers: 8}, names: roster(1, 0), gate: &gate{}}
	s.reserve(now.Add(time.Minute))
	var out strings.Builder
	status(&out, s, engineArgs{})
	if !regexp.MustCompile(`\(not hibernating\) \(reserved 186[0-9a-f]{12}\)\n`).MatchString(out.String()) {
		t.Errorf("status of a reserved server:\n%s", out.String())
	}
	if s.unreserve(now.Add(2 * time.Minute)) {
		t.Error("unreserved with a human on")
	}
	consoleCommand(&out, "kickall", s, engineArgs{})
	if s.unreserve(time.Now().Add(postgameDelay / 2)) {
		t.Error("unreserved within the postgame delay")
	}
	if !s.unreserve(time.Now().Add(2*time.Minute)) || s.reserved() {
		t.Error("still reserved, expired and empty")
	}
	s.reserve(now.Add(time.Minute))
	s.left = time.Time{}
	if s.unreserve(now.Add(30 * time.Second)) {
		t.Error("unreserved before it expired")
	}
	out.Reset()
	status(&out, s, engineArgs{})
	if !strings.Contains(out.String(), "(not hibernating) (reserved 186") {
		t.Errorf("status:\n%s", out.String())
	}
}

// A console line runs each of its commands as the engine's buffer splits
// it, a quit among them too; a say shows what the game shows of it.
func TestConsoleLineAsTheEngineRunsIt(t *testing.T) {
	for line, want := range map[string]bool{"say bye;quit": true, `"quit"`: true, "QUIT": true, "status; exit": true,
		"say a // ;quit": false, `say "a;quit"`: false, "quitter": false} {
		var out strings.Builder
		if got := consoleCommand(&out, line, nil, engineArgs{}); got != want {
			t.Errorf("%q: quit %v, want %v\n%s", line, got, want, out.String())
		}
	}
	for line, want := range map[string]string{
		`say "hello; there"`:                     "Console: hello; there\n",
		"say " + strings.Repeat("x", 200):        "Console: " + strings.Repeat("x", 127) + "\n",
		`say "` + strings.Repeat("y", 200) + `"`: "Console: " + strings.Repeat("y", 126) + "\n",
		`say "` + strings.Repeat("z", 127) + `"`: "Console: " + strings.Repeat("z", 127) + "\n",
	} {
		var out strings.Builder
		consoleCommand(&out, line, nil, engineArgs{})
		if out.String() != want {
			t.Errorf("%q: printed %q, want %q", line, out.String(), want)
		}
	}
}
