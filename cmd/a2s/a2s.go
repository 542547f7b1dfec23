// Package a2s implements the A2S_INFO and A2S_PLAYER queries of the Source
// engine (https://developer.valvesoftware.com/wiki/Server_queries), both
// the client side (Query, QueryPlayers) and the packet helpers a stand-in
// server needs.
//
// Only single-packet replies are supported: an A2S_INFO reply of a Left 4
// Dead 2 server always fits one datagram, and so does its A2S_PLAYER reply
// for the few players of a game (a longer one fails with ErrSplit).
package a2s

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Info is the decoded A2S_INFO reply.
type Info struct {
	Protocol    byte
	Name        string
	Map         string
	Folder      string
	Game        string
	AppID       uint16
	Players     byte
	MaxPlayers  byte
	Bots        byte
	ServerType  byte // 'd' dedicated, 'l' listen, 'p' SourceTV
	Environment byte // 'l' Linux, 'w' Windows, 'm' or 'o' macOS
	Visibility  byte // 0 public, 1 password protected
	VAC         byte // 0 unsecured, 1 secured
	Version     string
	Port        uint16 // game port from the extra data field, 0 if absent
}

// Errors a reply can be classified as; match them with errors.Is.
var (
	ErrNoReply   = errors.New("no reply")
	ErrTruncated = errors.New("truncated reply")
	ErrMalformed = errors.New("malformed reply")
	ErrSplit     = errors.New("split-packet reply not supported")
)

const (
	typeRequest   = 'T' // A2S_INFO request
	typeChallenge = 'A' // S2C_CHALLENGE
	typeInfo      = 'I' // A2S_INFO reply

	headerSingle   = "\xFF\xFF\xFF\xFF" // one-packet reply
	headerSplit    = "\xFE\xFF\xFF\xFF" // multi-packet reply
	requestPayload = "Source Engine Query\x00"
	challengeLen   = 4
)

// Extra data flag bits, in the order their fields follow the flag byte.
const (
	edfPort     = 0x80
	edfSteamID  = 0x10
	edfSourceTV = 0x40
	edfKeywords = 0x20
	edfGameID   = 0x01
)

// EncodeRequest returns an A2S_INFO request, with the challenge appended
// when it is not empty.
func EncodeRequest(challenge []byte) []byte {
	b := append([]byte(headerSingle), typeRequest)
	b = append(b, requestPayload...)
	return append(b, challenge...)
}

// ParseRequest reports whether pkt is an A2S_INFO request and returns the
// challenge it carries, nil when it carries none.
func ParseRequest(pkt []byte) (challenge []byte, ok bool) {
	rest, ok := bytes.CutPrefix(pkt, EncodeRequest(nil))
	switch {
	case !ok:
		return nil, false
	case len(rest) == 0:
		return nil, true
	case len(rest) >= challengeLen:
		// Some clients pad the request; only the first 4 bytes count.
		return bytes.Clone(rest[:challengeLen]), true
	default:
		return nil, false
	}
}

// EncodeChallenge returns the S2C_CHALLENGE reply a server sends to a
// request that lacks the right challenge.
func EncodeChallenge(challenge [challengeLen]byte) []byte {
	b := append([]byte(headerSingle), typeChallenge)
	return append(b, challenge[:]...)
}

// EncodeInfo returns the full A2S_INFO reply packet for in, with the
// extra data field carrying in.Port. Strings are cut at their first NUL,
// which the wire format cannot carry.
func EncodeInfo(in Info) []byte {
	b := append([]byte(headerSingle), typeInfo, in.Protocol)
	for _, s := range []string{in.Name, in.Map, in.Folder, in.Game} {
		b = appendString(b, s)
	}
	b = binary.LittleEndian.AppendUint16(b, in.AppID)
	b = append(b, in.Players, in.MaxPlayers, in.Bots,
		in.ServerType, in.Environment, in.Visibility, in.VAC)
	b = appendString(b, in.Version)
	b = append(b, edfPort)
	return binary.LittleEndian.AppendUint16(b, in.Port)
}

func appendString(b []byte, s string) []byte {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return append(append(b, s...), 0)
}

// replyType checks the single-packet header of a reply and returns its
// type byte.
func replyType(pkt []byte) (byte, error) {
	head := string(pkt[:min(len(pkt), len(headerSingle))])
	switch {
	case head == headerSplit:
		return 0, ErrSplit
	case !strings.HasPrefix(headerSingle, head) && !strings.HasPrefix(headerSplit, head):
		return 0, fmt.Errorf("%w: bad header % x", ErrMalformed, head)
	case len(pkt) <= len(headerSingle):
		return 0, fmt.Errorf("%w: %d bytes", ErrTruncated, len(pkt))
	}
	return pkt[len(headerSingle)], nil
}

// ParseInfo decodes an A2S_INFO reply packet, header included. Fields of
// the extra data other than the port are skipped; trailing bytes after it
// are ignored.
func ParseInfo(pkt []byte) (Info, error) {
	t, err := replyType(pkt)
	if err != nil {
		return Info{}, err
	}
	if t != typeInfo {
		return Info{}, fmt.Errorf("%w: type 0x%02x, want 0x%02x", ErrMalformed, t, typeInfo)
	}
	r := reader{b: pkt[len(headerSingle)+1:]}
	var in Info
	in.Protocol = r.byte()
	in.Name, in.Map, in.Folder, in.Game = r.string(), r.string(), r.string(), r.string()
	in.AppID = r.uint16()
	in.Players, in.MaxPlayers, in.Bots = r.byte(), r.byte(), r.byte()
	in.ServerType, in.Environment, in.Visibility, in.VAC = r.byte(), r.byte(), r.byte(), r.byte()
	in.Version = r.string()
	if r.err == nil && len(r.b) > 0 {
		edf := r.byte()
		if edf&edfPort != 0 {
			in.Port = r.uint16()
		}
		if edf&edfSteamID != 0 {
			r.skip(8)
		}
		if edf&edfSourceTV != 0 {
			r.skip(2)
			r.string()
		}
		if edf&edfKeywords != 0 {
			r.string()
		}
		if edf&edfGameID != 0 {
			r.skip(8)
		}
	}
	if r.err != nil {
		return Info{}, r.err
	}
	return in, nil
}

// reader consumes little-endian fields; the first short read sticks as
// ErrTruncated and later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("%w: need %d more bytes, have %d", ErrTruncated, n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) skip(n int) { r.take(n) }

func (r *reader) byte() byte {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) uint16() uint16 {
	if v := r.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *reader) uint32() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *reader) string() string {
	if r.err != nil {
		return ""
	}
	i := bytes.IndexByte(r.b, 0)
	if i < 0 {
		r.err = fmt.Errorf("%w: unterminated string", ErrTruncated)
		return ""
	}
	s := Clean(string(r.b[:i]))
	r.b = r.b[i+1:]
	return s
}

// Clean makes a string from a server's answer safe for any use: a server
// (or a plugin in it) chooses its name, map and players' names, and a
// newline in one became a line of its own wherever it was copied (an
// sd_notify message: "\nMAINPID=..."). Control characters (C0, DEL, C1)
// and bytes that are not UTF-8 become U+FFFD.
func Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}
