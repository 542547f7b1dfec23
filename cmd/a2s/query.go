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
// every request with a fresh challenge cannot keep a query busy.
const maxChallenges = 3

// Query sends an A2S_INFO request to addr (host:port) over UDP and returns
// the decoded reply, answering a challenge first if the server asks for
// one. It gives up at the deadline of ctx or when ctx is canceled; without
// either it waits for a reply indefinitely. Errors wrap ErrNoReply,
// ErrTruncated, ErrMalformed or ErrSplit where they apply.
func Query(ctx context.Context, addr string) (Info, error) {
	return roundTrip(ctx, "query", addr, EncodeRequest, typeInfo, ParseInfo)
}

// QueryPlayers sends an A2S_PLAYER request to addr (host:port) over UDP
// and returns the players of the reply. The first request carries the
// challenge -1 and the one the server hands out is sent back, as Query
// does. Deadlines, cancellation and errors are those of Query.
func QueryPlayers(ctx context.Context, addr string) ([]Player, error) {
	request := func(challenge []byte) []byte {
		var c [challengeLen]byte
		if copy(c[:], challenge) == 0 {
			c = noChallenge
		}
		return EncodePlayerRequest(c)
	}
	return roundTrip(ctx, "players", addr, request, typePlayers, ParsePlayers)
}

// roundTrip runs one query on a fresh UDP socket to addr: request builds
// the request for a challenge (nil at first), want is the reply type and
// parse decodes the reply packet. Errors are prefixed "a2s: VERB ADDR".
func roundTrip[T any](ctx context.Context, verb, addr string, request func([]byte) []byte,
	want byte, parse func([]byte) (T, error)) (T, error) {
	var zero T
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return zero, fmt.Errorf("a2s: %s %s: %w", verb, addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(dl); err != nil {
			return zero, fmt.Errorf("a2s: %s %s: %w", verb, addr, err)
		}
	}
	// A deadline in the past unblocks a pending read on cancellation.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	pkt, err := exchange(conn, request, want)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Only ctx sets deadlines here, so ctx is done or about to be: its
		// timer may fire a moment after the socket's.
		<-ctx.Done()
		err = fmt.Errorf("%w: %w", ErrNoReply, ctx.Err())
	}
	var v T
	if err == nil {
		v, err = parse(pkt)
	}
	if err != nil {
		return zero, fmt.Errorf("a2s: %s %s: %w", verb, addr, err)
	}
	return v, nil
}

// exchange runs the request/challenge/reply dialogue on a connected
// socket and returns the reply packet of type want.
func exchange(conn net.Conn, request func([]byte) []byte, want byte) ([]byte, error) {
	// Large enough that an oversized datagram is never silently cut short.
	buf := make([]byte, 64<<10)
	var challenge []byte
	for range maxChallenges + 1 {
		if _, err := conn.Write(request(challenge)); err != nil {
			return nil, fmt.Errorf("send request: %w", err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("read reply: %w", err)
		}
		pkt := buf[:n]
		t, err := replyType(pkt)
		if err != nil {
			return nil, err
		}
		switch t {
		case want:
			return pkt, nil
		case typeChallenge:
			if len(pkt) < len(headerSingle)+1+challengeLen {
				return nil, fmt.Errorf("%w: challenge of %d bytes", ErrTruncated, len(pkt))
			}
			challenge = append(challenge[:0], pkt[len(headerSingle)+1:][:challengeLen]...)
		default:
			return nil, fmt.Errorf("%w: type 0x%02x", ErrMalformed, t)
		}
	}
	return nil, fmt.Errorf("%w: challenged %d times in a row", ErrMalformed, maxChallenges+1)
}
