package a2s

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// maxChallenges bounds the challenges answered, so a server that answers
// every request with a fresh challenge cannot keep Query busy.
const maxChallenges = 3

// Query sends an A2S_INFO request to addr (host:port) over UDP and returns
// the decoded reply, answering a challenge first if the server asks for
// one. It gives up at the deadline of ctx or when ctx is canceled; without
// either it waits for a reply indefinitely. Errors wrap ErrNoReply,
// ErrTruncated, ErrMalformed or ErrSplit where they apply.
func Query(ctx context.Context, addr string) (Info, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return Info{}, fmt.Errorf("a2s: query %s: %w", addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return Info{}, fmt.Errorf("a2s: query %s: %w", addr, err)
		}
	}
	// A deadline in the past unblocks a pending read on cancellation.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	info, err := exchange(conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Only ctx sets deadlines here, so ctx is done or about to be: its
		// timer may fire a moment after the socket's.
		<-ctx.Done()
		err = fmt.Errorf("%w: %w", ErrNoReply, ctx.Err())
	}
	if err != nil {
		return Info{}, fmt.Errorf("a2s: query %s: %w", addr, err)
	}
	return info, nil
}

// exchange runs the request/challenge/reply dialogue on a connected socket.
func exchange(conn net.Conn) (Info, error) {
	// Large enough that an oversized datagram is never silently cut short.
	buf := make([]byte, 64<<10)
	var challenge []byte
	for range maxChallenges + 1 {
		if _, err := conn.Write(EncodeRequest(challenge)); err != nil {
			return Info{}, fmt.Errorf("send request: %w", err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			return Info{}, fmt.Errorf("read reply: %w", err)
		}
		pkt := buf[:n]
		t, err := replyType(pkt)
		if err != nil {
			return Info{}, err
		}
		switch t {
		case typeInfo:
			return ParseInfo(pkt)
		case typeChallenge:
			if len(pkt) < len(headerSingle)+1+challengeLen {
				return Info{}, fmt.Errorf("%w: challenge of %d bytes", ErrTruncated, len(pkt))
			}
			challenge = append(challenge[:0], pkt[len(headerSingle)+1:][:challengeLen]...)
		default:
			return Info{}, fmt.Errorf("%w: type 0x%02x", ErrMalformed, t)
		}
	}
	return Info{}, fmt.Errorf("%w: challenged %d times in a row", ErrMalformed, maxChallenges+1)
}
