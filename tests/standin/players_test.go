package main

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

func TestRoster(t *testing.T) {
	tests := []struct {
		humans, bots int
		want         []string
	}{
		{0, 0, []string{}},
		{2, 0, []string{"Player1", "Player2"}},
		{1, 4, []string{"Player1", "Coach", "Ellis", "Nick", "Rochelle"}},
		{0, 10, []string{"Coach", "Ellis", "Nick", "Rochelle", "Bill", "Francis", "Louis", "Zoey", "Coach2", "Ellis2"}},
	}
	for _, tc := range tests {
		if got := roster(tc.humans, tc.bots); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("roster(%d, %d) = %q, want %q", tc.humans, tc.bots, got, tc.want)
		}
	}
}

// Humans and bots show in A2S_INFO (Players counts both) and A2S_PLAYER,
// which needs the challenge handshake.
func TestStandinPlayersAndBots(t *testing.T) {
	dir := writeCfgs(t, map[string]string{"standin.env": "STANDIN_BOTS=3\n"})
	port := strconv.Itoa(int(freeUDPPort(t)))
	s := startStandin(t, dir, []string{"STANDIN_PLAYERS=2"}, "-game", "left4dead2", "-port", port, "+map", "c1m1_hotel")
	s.waitLine(t, "standin: listening on udp ")
	addr := "127.0.0.1:" + port
	info, err := queryInfo(t, addr, 2*time.Second)
	if err != nil || info.Players != 5 || info.Bots != 3 {
		t.Fatalf("A2S_INFO %+v, %v; want 5 players of which 3 bots", info, err)
	}
	time.Sleep(50 * time.Millisecond) // some connected time
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	players, err := a2s.QueryPlayers(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, p := range players {
		names = append(names, p.Name)
		if int(p.Index) != i || p.Score != 0 || p.Duration <= 0 || p.Duration > 60 {
			t.Errorf("player %d: %+v", i, p)
		}
	}
	if want := []string{"Player1", "Player2", "Coach", "Ellis", "Nick"}; !reflect.DeepEqual(names, want) {
		t.Errorf("players %q, want %q", names, want)
	}
}

// STANDIN_A2S_PLAYERS=humans: A2S_INFO's players counts humans alone,
// its bots the fake clients, as the L4D branch's engine may answer; the
// console's status still counts each.
func TestStandinA2SPlayersHumans(t *testing.T) {
	dir := writeCfgs(t, map[string]string{"standin.env": "STANDIN_BOTS=3\nSTANDIN_A2S_PLAYERS=humans\n"})
	port := strconv.Itoa(int(freeUDPPort(t)))
	s := startStandin(t, dir, []string{"STANDIN_PLAYERS=1"}, "-game", "left4dead2", "-port", port, "+map", "c1m1_hotel")
	s.waitLine(t, "standin: listening on udp ")
	info, err := queryInfo(t, "127.0.0.1:"+port, 2*time.Second)
	if err != nil || info.Players != 1 || info.Bots != 3 {
		t.Fatalf("A2S_INFO %+v, %v; want 1 player and 3 bots", info, err)
	}
}

// A request with a wrong challenge only gets the challenge.
func TestStandinPlayerChallenge(t *testing.T) {
	dir := writeCfgs(t, nil)
	port := strconv.Itoa(int(freeUDPPort(t)))
	s := startStandin(t, dir, []string{"STANDIN_PLAYERS=1"}, "-game", "left4dead2", "-port", port)
	s.waitLine(t, "standin: listening on udp ")
	reply := exchangeOnce(t, "127.0.0.1:"+port, a2s.EncodePlayerRequest([4]byte{1, 2, 3, 4}))
	if len(reply) != 9 || string(reply[:5]) != "\xFF\xFF\xFF\xFFA" {
		t.Errorf("reply % x, want a challenge", reply)
	}
}
