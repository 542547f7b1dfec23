package a2s

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// startServer serves UDP on 127.0.0.1 until the test ends, answering each
// datagram with what reply returns (nothing for nil).
func startServer(t *testing.T, reply func(req []byte) []byte) string {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return // closed at cleanup
			}
			if out := reply(buf[:n]); out != nil {
				_, _ = conn.WriteTo(out, from)
			}
		}
	}()
	return conn.LocalAddr().String()
}

// challenging answers like L4D2: info only for a request carrying the
// challenge it handed out.
func challenging(info []byte) func([]byte) []byte {
	want := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
	return func(req []byte) []byte {
		ch, ok := ParseRequest(req)
		switch {
		case !ok:
			return nil
		case bytes.Equal(ch, want[:]):
			return info
		default:
			return EncodeChallenge(want)
		}
	}
}

func fixed(out []byte) func([]byte) []byte {
	return func([]byte) []byte { return out }
}

func TestQuery(t *testing.T) {
	valid := EncodeInfo(sampleInfo())
	tests := []struct {
		name    string
		reply   func([]byte) []byte
		wantErr error
	}{
		{"challenge step", challenging(valid), nil},
		{"no challenge", fixed(valid), nil},
		{"truncated info", challenging(valid[:20]), ErrTruncated},
		{"malformed info", challenging(append([]byte("\xFF\xFF\xFF\xFFm"), valid[5:]...)), ErrMalformed},
		{"split reply", fixed([]byte("\xFE\xFF\xFF\xFF\x01\x00\x00\x00\x02\x00")), ErrSplit},
		{"short challenge", fixed([]byte("\xFF\xFF\xFF\xFFA\x01\x02")), ErrTruncated},
		{"endless challenges", fixed(EncodeChallenge([4]byte{1, 2, 3, 4})), ErrMalformed},
		{"garbage", fixed([]byte("hello")), ErrMalformed},
		{"silence", func([]byte) []byte { return nil }, ErrNoReply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, tc.reply)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			got, err := Query(ctx, addr)
			if elapsed := time.Since(start); elapsed > time.Second {
				t.Errorf("took %v, past the 300ms deadline", elapsed)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err == nil && got != sampleInfo() {
				t.Errorf("got %+v\nwant %+v", got, sampleInfo())
			}
		})
	}
}

func TestQuerySilenceDeadline(t *testing.T) {
	addr := startServer(t, func([]byte) []byte { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Query(ctx, addr)
	if elapsed := time.Since(start); elapsed < 90*time.Millisecond || elapsed > 500*time.Millisecond {
		t.Errorf("gave up after %v, want about 100ms", elapsed)
	}
	if !errors.Is(err, ErrNoReply) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want no reply and deadline exceeded", err)
	}
}

func TestQueryCancel(t *testing.T) {
	addr := startServer(t, func([]byte) []byte { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := Query(ctx, addr)
	if !errors.Is(err, ErrNoReply) || !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want no reply and canceled", err)
	}
}
