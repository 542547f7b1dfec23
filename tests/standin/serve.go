package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// survivorBots are the names L4D2 gives its survivor bots, the bots of a
// cooperative game (the four of L4D2, then the four of Left 4 Dead).
var survivorBots = [...]string{"Coach", "Ellis", "Nick", "Rochelle", "Bill", "Francis", "Louis", "Zoey"}

// roster is who the stand-in says is on the server: humans "Player1" ...
// then bots named like survivor bots, with a number once the names run
// out. The names are the stand-in's, for tests to match.
func roster(humans, bots int) []string {
	names := make([]string, 0, humans+bots)
	for i := range humans {
		names = append(names, "Player"+strconv.Itoa(i+1))
	}
	for i := range bots {
		name := survivorBots[i%len(survivorBots)]
		if i >= len(survivorBots) {
			name += strconv.Itoa(i/len(survivorBots) + 1)
		}
		names = append(names, name)
	}
	return names
}

// server is what processSocket answers with.
type server struct {
	info      a2s.Info
	names     []string  // roster, humans first
	since     time.Time // when the players "connected"
	challenge [4]byte
	gate      *gate
	conn      net.PacketConn
	// kicked: the console's kickall disconnected the humans (engine/
	// host_cmd.cpp, nillerusr/source-engine: every connected client but
	// SourceTV); the stand-in keeps its bots, as L4D2 puts survivor bots
	// back in the humans' places.
	kicked atomic.Bool
	// hibernating: no human is connected and the engine hibernates
	// (CGameServer::UpdateHibernationState, engine/sv_main.cpp,
	// cstrike15_src: fake clients do not count, and SetHibernating(true)
	// disconnects them, "Punting bot, server is hibernating").
	hibernating atomic.Bool
	// a2sHumans: A2S_INFO's players counts humans alone (wire).
	a2sHumans bool
	// cookie: a lobby reserved the server (CBaseServer::
	// m_nReservationCookie, the lobby's id; 0: unreserved), until
	// reservedUntil (m_flReservationExpiryTime); left is when the last
	// human left (kickall; m_flTimeLastClientLeft). The frame loop alone
	// reads and writes them.
	cookie        uint64
	reservedUntil time.Time
	left          time.Time
}

// postgameDelay is sv_hibernate_postgame_delay's default, "# of seconds
// to wait after final client leaves before hibernating" (engine/
// sv_main.cpp, cstrike15_src).
const postgameDelay = 5 * time.Second

// reserve is a lobby's reservation of the server until until. The id is
// a lobby's CSteamID, 0x0186... as in the status lines console.go's
// status cites.
func (s *server) reserve(until time.Time) {
	var b [4]byte
	rand.Read(b[:]) // never fails since Go 1.24
	s.cookie = 0x0186000000000000 | uint64(binary.BigEndian.Uint32(b[:]))
	s.reservedUntil = until
}

// reserved reports whether a lobby holds the server.
func (s *server) reserved() bool { return s.cookie != 0 }

// unreserve ends the reservation as CGameServer::UpdateHibernationState
// (engine/sv_main.cpp, cstrike15_src) does, each frame: with no human
// connected, once postgameDelay has passed since the last one left and
// the reservation expired. It reports whether it ended now.
func (s *server) unreserve(now time.Time) bool {
	if s.cookie == 0 || s.humans() > 0 || now.Before(s.reservedUntil) ||
		!s.left.IsZero() && now.Sub(s.left) <= postgameDelay {
		return false
	}
	s.cookie = 0
	return true
}

// wire is info as A2S_INFO sends it. Steam's servers count bots among
// the players ("total number of players currently on the server.
// INCLUDES BOTS!!", Steamworks matchmakingtypes.h; CMaster::ReplyInfo
// writes GetNumClients, then GetNumFakeClients, engine/sv_main.cpp,
// Source 2013). The L4D branch's CBaseServer::GetMasterServerPlayerCounts
// gives GetNumHumanPlayers and GetNumFakeClients instead (a decompile of
// its engine/baseserver.cpp; CS:GO, of the same branch, answers 1 player
// and 7 bots for one human among seven bots, gamedig/node-gamedig#297);
// stock L4D2 may send 0 bots (its status says "4 humans, 0 bots" with
// infected bots on, 0125/ahk-GameScript#36), which a plugin can change.
// The stand-in keeps humans and bots together in info.Players inside.
func (s *server) wire(info a2s.Info) a2s.Info {
	if s.a2sHumans {
		info.Players -= info.Bots
	}
	return info
}

// humans is how many humans are connected now.
func (s *server) humans() int {
	info, _ := s.current()
	return int(info.Players) - int(info.Bots)
}

// hibernate puts the server to sleep once: it says so, as the engine does
// only at the change (SetHibernating, engine/sv_main.cpp, cstrike15_src;
// L4D2's line, alliedmodders/sourcemod#2151), and its queries go
// unanswered from then on, as L4D2's since the June 2021 update
// (engineMode.hibernate).
func (s *server) hibernate(out io.Writer) {
	if s.hibernating.Swap(true) {
		return
	}
	fmt.Fprintln(out, "Server is hibernating")
	s.gate.closed.Store(true)
}

// current is who is on the server now: the info and the roster.
func (s *server) current() (a2s.Info, []string) {
	info, names := s.info, s.names
	if s.hibernating.Load() { // the bots were punted
		info.Players, info.Bots = 0, 0
		return info, nil
	}
	if s.kicked.Load() {
		names = names[int(info.Players)-int(info.Bots):]
		info.Players = info.Bots
	}
	return info, names
}

// players is the A2S_PLAYER list: index from 0, score 0, the time since
// the server started listening as everyone's duration.
func (s *server) players(now time.Time) []a2s.Player {
	d := float32(now.Sub(s.since).Seconds())
	_, names := s.current()
	ps := make([]a2s.Player, len(names))
	for i, n := range names {
		ps[i] = a2s.Player{Index: byte(i), Name: n, Duration: d}
	}
	return ps
}

// processSocket is the engine's NET_ProcessSocket on the server's socket,
// run on the main thread once a frame (CBaseServer::RunFrame, engine/
// baseserver.cpp, from SV_Frame, engine/sv_main.cpp, in nillerusr/
// source-engine and cstrike15_src): it reads every datagram queued since the
// last frame ("while ( ( packet = NET_GetPacket ( sock, scratch ) ) !=
// NULL )") and answers each, then returns. Between frames nothing is read:
// queries wait in the socket's receive buffer (the kernel's, which drops
// what overflows it) and are answered in a burst by the next frame.
//
// Like L4D2, it hands out a challenge to any request that lacks the right
// one (an A2S_PLAYER request asks for it with -1) and answers only requests
// that carry it (Valve developer wiki, Server queries). Other datagrams
// are ignored. Requests the gate closes are read and dropped.
func (s *server) processSocket() error {
	info := a2s.EncodeInfo(s.wire(s.info))
	gone := s.info
	gone.Players = gone.Bots
	kickedInfo := a2s.EncodeInfo(s.wire(gone)) // after kickall
	buf := make([]byte, 2048)
	for {
		n, from, err := recvQueued(s.conn, buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("a2s: read: %w", err)
		}
		if from == nil {
			return nil // nothing more queued: the frame goes on
		}
		if !s.gate.answer(fromIP(from), time.Now()) {
			continue
		}
		out := a2s.EncodeChallenge(s.challenge)
		if got, ok := a2s.ParseRequest(buf[:n]); ok {
			if string(got) == string(s.challenge[:]) {
				out = info
				if s.kicked.Load() {
					out = kickedInfo
				}
			}
		} else if got, ok := a2s.ParsePlayerRequest(buf[:n]); ok {
			if got == s.challenge {
				out = a2s.EncodePlayers(s.players(time.Now()))
			}
		} else {
			continue
		}
		// A client gone away must not stop the server.
		_, _ = s.conn.WriteTo(out, from)
	}
}
