package a2s

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// A2S_PLAYER, as described on https://developer.valvesoftware.com/wiki/Server_queries:
// the request is the header, 'U' and a 4-byte challenge, -1 (FF FF FF FF)
// to ask for one; the server answers S2C_CHALLENGE ('A' and 4 bytes) and
// the client sends the request again with that challenge. The reply is
// the header, 'D', a byte with the number of players and, for each, a byte
// index, a NUL-terminated name, a long (int32) score and a float (float32)
// duration in seconds, all little endian.

const (
	typePlayerRequest = 'U' // A2S_PLAYER request
	typePlayers       = 'D' // A2S_PLAYER reply
)

// noChallenge is the challenge a client sends to ask for one.
var noChallenge = [challengeLen]byte{0xFF, 0xFF, 0xFF, 0xFF}

// Player is one entry of an A2S_PLAYER reply.
type Player struct {
	Index    byte    // index of the entry in the reply, from 0
	Name     string  // player name
	Score    int32   // score (kills)
	Duration float32 // seconds the player has been connected
}

// EncodePlayerRequest returns an A2S_PLAYER request carrying challenge.
func EncodePlayerRequest(challenge [challengeLen]byte) []byte {
	b := append([]byte(headerSingle), typePlayerRequest)
	return append(b, challenge[:]...)
}

// ParsePlayerRequest reports whether pkt is an A2S_PLAYER request and
// returns the challenge it carries (FF FF FF FF asks for a challenge).
// Bytes after the challenge are ignored, as for A2S_INFO.
func ParsePlayerRequest(pkt []byte) (challenge [challengeLen]byte, ok bool) {
	rest, ok := bytes.CutPrefix(pkt, append([]byte(headerSingle), typePlayerRequest))
	if !ok || len(rest) < challengeLen {
		return challenge, false
	}
	copy(challenge[:], rest)
	return challenge, true
}

// EncodePlayers returns the full A2S_PLAYER reply for players, in order.
// The count is one byte, so at most 255 entries are sent. Names are cut at
// their first NUL, which the wire format cannot carry.
func EncodePlayers(players []Player) []byte {
	players = players[:min(len(players), math.MaxUint8)]
	b := append([]byte(headerSingle), typePlayers, byte(len(players)))
	for _, p := range players {
		b = append(b, p.Index)
		b = appendString(b, p.Name)
		b = binary.LittleEndian.AppendUint32(b, uint32(p.Score))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(p.Duration))
	}
	return b
}

// ParsePlayers decodes an A2S_PLAYER reply packet, header included. A
// reply must hold as many entries as its count says; trailing bytes after
// them are ignored.
func ParsePlayers(pkt []byte) ([]Player, error) {
	t, err := replyType(pkt)
	if err != nil {
		return nil, err
	}
	if t != typePlayers {
		return nil, fmt.Errorf("%w: type 0x%02x, want 0x%02x", ErrMalformed, t, typePlayers)
	}
	r := reader{b: pkt[len(headerSingle)+1:]}
	n := r.byte()
	players := make([]Player, 0, n)
	for range n {
		var p Player
		p.Index = r.byte()
		p.Name = r.string()
		p.Score = int32(r.uint32())
		p.Duration = math.Float32frombits(r.uint32())
		if r.err != nil {
			break
		}
		players = append(players, p)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w (%d of %d players read)", r.err, len(players), n)
	}
	return players, nil
}
