package a2s

import (
	"bytes"
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func samplePlayers() []Player {
	return []Player{
		{Index: 0, Name: "Player1", Score: 12, Duration: 61.5},
		{Index: 1, Name: "", Score: -3, Duration: 0},
		{Index: 2, Name: "Coach", Score: math.MaxInt32, Duration: 3600.25},
	}
}

func TestEncodeParsePlayersRoundTrip(t *testing.T) {
	cut := samplePlayers()
	cut[0].Name = "Play\x00er1"
	want := samplePlayers()
	want[0].Name = "Play"
	many := make([]Player, 300)
	for i := range many {
		many[i] = Player{Index: byte(i), Name: "p"}
	}
	tests := []struct {
		name    string
		in, out []Player
	}{
		{"sample", samplePlayers(), samplePlayers()},
		{"none", nil, []Player{}},
		{"NUL cuts name", cut, want},
		{"count is one byte", many, many[:255]},
		{"min score", []Player{{Score: math.MinInt32}}, []Player{{Score: math.MinInt32}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePlayers(EncodePlayers(tc.in))
			if err != nil {
				t.Fatalf("ParsePlayers: %v", err)
			}
			if !reflect.DeepEqual(got, tc.out) {
				t.Errorf("got %+v\nwant %+v", got, tc.out)
			}
		})
	}
}

func TestEncodePlayersBytes(t *testing.T) {
	got := EncodePlayers([]Player{{Index: 7, Name: "Al", Score: -1, Duration: 1}})
	want := []byte("\xFF\xFF\xFF\xFFD\x01\x07Al\x00\xFF\xFF\xFF\xFF\x00\x00\x80\x3F")
	if !bytes.Equal(got, want) {
		t.Errorf("got % x\nwant % x", got, want)
	}
}

// Every cut of a reply with players is an error, except after the last
// entry: the count promises entries that are not there.
func TestParsePlayersPrefixes(t *testing.T) {
	full := EncodePlayers(samplePlayers())
	for n := range len(full) {
		if got, err := ParsePlayers(full[:n]); err == nil {
			t.Errorf("prefix %d of %d: no error, got %+v", n, len(full), got)
		}
	}
}

func TestParsePlayers(t *testing.T) {
	valid := EncodePlayers(samplePlayers())
	with := func(i int, b byte) []byte {
		p := bytes.Clone(valid)
		p[i] = b
		return p
	}
	tests := []struct {
		name    string
		pkt     []byte
		wantErr error
		wantN   int
	}{
		{"valid", valid, nil, 3},
		{"trailing bytes", append(bytes.Clone(valid), 9, 9), nil, 3},
		{"empty list", []byte("\xFF\xFF\xFF\xFFD\x00"), nil, 0},
		{"empty", nil, ErrTruncated, 0},
		{"header only", []byte("\xFF\xFF\xFF\xFF"), ErrTruncated, 0},
		{"no count", []byte("\xFF\xFF\xFF\xFFD"), ErrTruncated, 0},
		{"count above entries", with(5, 4), ErrTruncated, 0},
		{"count below entries", with(5, 2), nil, 2},
		{"bad header", with(0, 0x00), ErrMalformed, 0},
		{"split header", with(0, 0xFE), ErrSplit, 0},
		{"info type", EncodeInfo(sampleInfo()), ErrMalformed, 0},
		{"challenge type", EncodeChallenge([4]byte{1, 2, 3, 4}), ErrMalformed, 0},
		{"unterminated name", []byte("\xFF\xFF\xFF\xFFD\x01\x00abc"), ErrTruncated, 0},
		{"short score", []byte("\xFF\xFF\xFF\xFFD\x01\x00a\x00\x01\x02"), ErrTruncated, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePlayers(tc.pkt)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err == nil && len(got) != tc.wantN {
				t.Errorf("got %d players %+v, want %d", len(got), got, tc.wantN)
			}
			if err == nil && len(got) > 0 && !reflect.DeepEqual(got, samplePlayers()[:len(got)]) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestParsePlayerRequest(t *testing.T) {
	tests := []struct {
		name      string
		pkt       []byte
		challenge [4]byte
		ok        bool
	}{
		{"asks for a challenge", EncodePlayerRequest(noChallenge), noChallenge, true},
		{"challenge", EncodePlayerRequest([4]byte{1, 2, 3, 4}), [4]byte{1, 2, 3, 4}, true},
		{"padded", append(EncodePlayerRequest([4]byte{1, 2, 3, 4}), 0, 0), [4]byte{1, 2, 3, 4}, true},
		{"no challenge", []byte("\xFF\xFF\xFF\xFFU"), [4]byte{}, false},
		{"partial challenge", []byte("\xFF\xFF\xFF\xFFU\x01\x02"), [4]byte{}, false},
		{"info request", EncodeRequest(nil), [4]byte{}, false},
		{"split header", []byte("\xFE\xFF\xFF\xFFU\xFF\xFF\xFF\xFF"), [4]byte{}, false},
		{"empty", nil, [4]byte{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, ok := ParsePlayerRequest(tc.pkt)
			if ok != tc.ok || ch != tc.challenge {
				t.Errorf("got %x, %v; want %x, %v", ch, ok, tc.challenge, tc.ok)
			}
		})
	}
}

// challengingPlayers answers like a Source server: a challenge for a
// request without the right one, the list for one that carries it.
func challengingPlayers(reply []byte) func([]byte) []byte {
	want := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
	return func(req []byte) []byte {
		ch, ok := ParsePlayerRequest(req)
		switch {
		case !ok:
			return nil
		case ch == want:
			return reply
		default:
			return EncodeChallenge(want)
		}
	}
}

func TestQueryPlayers(t *testing.T) {
	valid := EncodePlayers(samplePlayers())
	tests := []struct {
		name    string
		reply   func([]byte) []byte
		wantErr error
	}{
		{"challenge step", challengingPlayers(valid), nil},
		{"no challenge", fixed(valid), nil},
		{"truncated list", challengingPlayers(valid[:len(valid)-1]), ErrTruncated},
		{"info instead", challengingPlayers(EncodeInfo(sampleInfo())), ErrMalformed},
		{"split reply", fixed([]byte("\xFE\xFF\xFF\xFF\x01\x00\x00\x00\x02\x00")), ErrSplit},
		{"short challenge", fixed([]byte("\xFF\xFF\xFF\xFFA\x01\x02")), ErrTruncated},
		{"endless challenges", fixed(EncodeChallenge([4]byte{1, 2, 3, 4})), ErrMalformed},
		{"silence", func([]byte) []byte { return nil }, ErrNoReply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, tc.reply)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			got, err := QueryPlayers(ctx, addr)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, samplePlayers()) {
				t.Errorf("got %+v\nwant %+v", got, samplePlayers())
			}
		})
	}
}

// The first request asks for a challenge with -1, as the wiki says.
func TestQueryPlayersFirstRequest(t *testing.T) {
	reqs := make(chan []byte, 4)
	addr := startServer(t, func(req []byte) []byte {
		reqs <- bytes.Clone(req)
		return EncodePlayers(nil)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := QueryPlayers(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if got := <-reqs; !bytes.Equal(got, []byte("\xFF\xFF\xFF\xFFU\xFF\xFF\xFF\xFF")) {
		t.Errorf("first request % x", got)
	}
}

func FuzzParsePlayers(f *testing.F) {
	f.Add(EncodePlayers(samplePlayers()))
	f.Add(EncodePlayers(nil))
	f.Add([]byte("\xFF\xFF\xFF\xFFD\x05"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		players, err := ParsePlayers(pkt)
		if err != nil {
			return
		}
		again, err := ParsePlayers(EncodePlayers(players))
		if err != nil {
			t.Fatalf("re-parse of %+v: %v", players, err)
		}
		// NaN durations never compare equal; compare the bits.
		if len(again) != len(players) {
			t.Fatalf("round trip changed %d players to %d", len(players), len(again))
		}
		for i := range players {
			a, b := players[i], again[i]
			if a.Index != b.Index || a.Name != b.Name || a.Score != b.Score ||
				math.Float32bits(a.Duration) != math.Float32bits(b.Duration) {
				t.Fatalf("round trip changed %+v to %+v", a, b)
			}
		}
	})
}
