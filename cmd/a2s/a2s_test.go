package a2s

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func sampleInfo() Info {
	return Info{
		Protocol: 17, Name: "My server", Map: "c1m1_hotel", Folder: "left4dead2",
		Game: "Left 4 Dead 2", AppID: 550, Players: 3, MaxPlayers: 8, Bots: 1,
		ServerType: 'd', Environment: 'l', Visibility: 0, VAC: 1,
		Version: "2.2.4.3", Port: 27015,
	}
}

// extendedReply is sampleInfo as a real server sends it, with every extra
// data field present.
func extendedReply() []byte {
	pkt := EncodeInfo(sampleInfo())
	pkt = pkt[:len(pkt)-3] // drop the EDF byte and port EncodeInfo wrote
	pkt = append(pkt, edfPort|edfSteamID|edfSourceTV|edfKeywords|edfGameID)
	pkt = binary.LittleEndian.AppendUint16(pkt, 27015)
	pkt = binary.LittleEndian.AppendUint64(pkt, 90071992547409920)
	pkt = binary.LittleEndian.AppendUint16(pkt, 27020)
	pkt = append(pkt, "SourceTV\x00"...)
	pkt = append(pkt, "coop,empty\x00"...)
	return binary.LittleEndian.AppendUint64(pkt, 550)
}

func TestEncodeParseRoundTrip(t *testing.T) {
	withNUL := sampleInfo()
	withNUL.Name = "cut\x00here"
	cut := sampleInfo()
	cut.Name = "cut"
	maxed := Info{Protocol: 255, AppID: 65535, Players: 255, MaxPlayers: 255, Bots: 255,
		ServerType: 255, Environment: 255, Visibility: 255, VAC: 255, Port: 65535}

	tests := []struct {
		name    string
		in, out Info
	}{
		{"sample", sampleInfo(), sampleInfo()},
		{"zero", Info{}, Info{}},
		{"max numbers", maxed, maxed},
		{"NUL cuts string", withNUL, cut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInfo(EncodeInfo(tc.in))
			if err != nil {
				t.Fatalf("ParseInfo: %v", err)
			}
			if got != tc.out {
				t.Errorf("got %+v\nwant %+v", got, tc.out)
			}
		})
	}
}

// A cut anywhere must be an error, except right before the extra data
// flag: that is a valid reply from a server that sends no extra data.
func TestParseInfoPrefixes(t *testing.T) {
	for _, full := range [][]byte{EncodeInfo(sampleInfo()), extendedReply()} {
		noEDF := len(EncodeInfo(sampleInfo())) - 3
		for n := range len(full) {
			got, err := ParseInfo(full[:n])
			if n == noEDF {
				want := sampleInfo()
				want.Port = 0
				if err != nil || got != want {
					t.Errorf("prefix %d (no extra data): got %+v, %v", n, got, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("prefix %d of %d: no error, got %+v", n, len(full), got)
			}
		}
	}
}

func TestParseInfo(t *testing.T) {
	valid := EncodeInfo(sampleInfo())
	with := func(i int, b byte) []byte {
		p := bytes.Clone(valid)
		p[i] = b
		return p
	}
	tests := []struct {
		name     string
		pkt      []byte
		wantErr  error
		wantPort uint16
	}{
		{"valid", valid, nil, 27015},
		{"all extra data", extendedReply(), nil, 27015},
		{"trailing bytes", append(bytes.Clone(valid), 1, 2, 3), nil, 27015},
		{"empty", nil, ErrTruncated, 0},
		{"short header", []byte{0xFF, 0xFF}, ErrTruncated, 0},
		{"header only", []byte{0xFF, 0xFF, 0xFF, 0xFF}, ErrTruncated, 0},
		{"bad header", with(0, 0x00), ErrMalformed, 0},
		{"short bad header", []byte{0x12}, ErrMalformed, 0},
		{"split header", with(0, 0xFE), ErrSplit, 0},
		{"challenge type", EncodeChallenge([4]byte{1, 2, 3, 4}), ErrMalformed, 0},
		{"wrong type", with(4, 'm'), ErrMalformed, 0},
		{"no NUL anywhere", append([]byte{0xFF, 0xFF, 0xFF, 0xFF, 'I', 17}, "abc"...), ErrTruncated, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseInfo(tc.pkt)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err == nil && (got.Port != tc.wantPort || got.Name != "My server") {
				t.Errorf("got %+v, want port %d", got, tc.wantPort)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	plain := EncodeRequest(nil)
	tests := []struct {
		name      string
		pkt       []byte
		challenge []byte
		ok        bool
	}{
		{"no challenge", plain, nil, true},
		{"challenge", EncodeRequest([]byte{1, 2, 3, 4}), []byte{1, 2, 3, 4}, true},
		{"padded", EncodeRequest([]byte{1, 2, 3, 4, 0, 0}), []byte{1, 2, 3, 4}, true},
		{"partial challenge", EncodeRequest([]byte{1, 2}), nil, false},
		{"cut payload", plain[:len(plain)-1], nil, false},
		{"other query", []byte("\xFF\xFF\xFF\xFFU\xFF\xFF\xFF\xFF"), nil, false},
		{"empty", nil, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, ok := ParseRequest(tc.pkt)
			if ok != tc.ok || !bytes.Equal(ch, tc.challenge) {
				t.Errorf("got %x, %v; want %x, %v", ch, ok, tc.challenge, tc.ok)
			}
		})
	}
}

func FuzzParseInfo(f *testing.F) {
	valid := EncodeInfo(sampleInfo())
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add(extendedReply())
	f.Add(EncodeInfo(Info{}))
	f.Add(EncodeChallenge([4]byte{1, 2, 3, 4}))
	f.Add([]byte{0xFE, 0xFF, 0xFF, 0xFF, 0x49})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkt []byte) {
		in, err := ParseInfo(pkt)
		if err != nil {
			return
		}
		// Whatever parses must survive a round trip unchanged.
		again, err := ParseInfo(EncodeInfo(in))
		if err != nil {
			t.Fatalf("re-parse of %+v: %v", in, err)
		}
		if again != in {
			t.Fatalf("round trip changed %+v to %+v", in, again)
		}
	})
}

// A hostile server's strings lose their control characters at decoding,
// before any use: a newline in the map name must not reach sd_notify.
func TestParseInfoCleans(t *testing.T) {
	in := Info{Name: "a\x1b]52;c;eA==\x07b", Map: "c1m1\nMAINPID=1\nWATCHDOG_USEC=0", Folder: "x\xff", Game: "g", Version: "1"}
	got, err := ParseInfo(EncodeInfo(in))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{got.Name, got.Map, got.Folder} {
		if strings.ContainsAny(s, "\n\x1b\x07") || !utf8.ValidString(s) {
			t.Errorf("not cleaned: %q", s)
		}
	}
	if got.Map != "c1m1\uFFFDMAINPID=1\uFFFDWATCHDOG_USEC=0" {
		t.Errorf("map %q", got.Map)
	}
}
