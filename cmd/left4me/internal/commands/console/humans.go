package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
)

// playersLine is the count in the server's answer to "status": "players :
// 2 humans, 1 bots (8 max)" (Host_Status_f, engine/host_cmd.cpp, Source
// 2013; "(8/8 max) (hibernating)" in cstrike15_src's). Only a whole line
// counts, and only within the answer (see Humans). Its rest is the
// engine's own words in L4D2; reservedEnd is read there.
var playersLine = regexp.MustCompile(`^players : (\d{1,3}) humans, \d{1,3} bots (\(.*)$`)

// reservedEnd ends the players line of a server a lobby reserved: L4D2
// and L4D print "(not hibernating) (reserved 186000047cf0fd8)", the
// lobby's id as %llx, and "(unreserved)" otherwise (a stock L4D2
// 2.2.4.3 server's status before and after a reservation packet, in a
// published study of the lobby protocol; an L4D server's with four
// players, 0125/ahk-GameScript#36). A redacted "(reserved)" counts too. The engine keeps the
// reservation while nobody is connected until sv_hibernate_postgame_delay
// has passed since the last one left and the reservation's own expiry
// too, and never hibernates meanwhile (CGameServer::
// UpdateHibernationState, engine/sv_main.cpp, cstrike15_src).
var reservedEnd = regexp.MustCompile(`\(reserved(?: [0-9a-f]{1,16})?\)$`)

// Count is what a server's status says of its players.
type Count struct {
	Humans int
	// Reserved: a lobby reserved the server, so players may be on their
	// way although none is connected yet.
	Reserved bool
}

// Humans asks name's console how many humans play: the "players" line of
// its status, within wait. It answers where A2S does not: an empty L4D2
// server hibernates and drops queries (since the June 2021 update), as
// does one with -nomaster or in LAN mode, while its console still runs
// each frame. Everything a server prints reaches the console, a player's
// chat too ("NAME: TEXT", Host_Say): the status is framed by two echoes of
// a random word (Cmd_Echo_f, engine/cmd.cpp, Source 2013), and the answer
// counts only with its hostname line and exactly one players line between
// them.
func (e *Env) Humans(ctx context.Context, name string, wait time.Duration) (Count, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return Count{}, err
	}
	begin := "left4me-" + hex.EncodeToString(nonce[:])
	end := begin + "-end"
	conn, err := e.ConsoleDial(ctx, name)
	if err != nil {
		return Count{}, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "echo "+begin+"\nstatus\necho "+end+"\n"); err != nil {
		return Count{}, fmt.Errorf("console of %s: %w", name, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	r := bufio.NewReaderSize(conn, maxAnswerLine)
	total, lineStart := 0, true
	inside, host, count, counts := false, false, Count{}, 0
	for {
		b, err := r.ReadSlice('\n')
		line := strings.TrimRight(string(b), "\r\n")
		if lineStart {
			switch t := strings.TrimSpace(line); {
			case strings.HasPrefix(line, "left4me: "):
				return Count{}, fmt.Errorf("%w: %s", fail.ErrPermission, strings.TrimPrefix(line, "left4me: "))
			case t == begin:
				inside = true
			case t == end && inside:
				if !host || counts != 1 {
					return Count{}, fmt.Errorf("console of %s: its status was not one hostname and one players line (%d players lines)", name, counts)
				}
				return count, nil
			case inside && strings.HasPrefix(line, "hostname:"):
				host = true
			case inside:
				if m := playersLine.FindStringSubmatch(line); m != nil {
					count.Humans, _ = strconv.Atoi(m[1])
					count.Reserved = reservedEnd.MatchString(strings.TrimSpace(m[2]))
					counts++
				}
			}
		}
		lineStart = len(b) > 0 && b[len(b)-1] == '\n'
		if total += len(b); total > maxAnswer {
			return Count{}, fmt.Errorf("console of %s: no status in %d MiB of answer", name, maxAnswer>>20)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return Count{}, fmt.Errorf("console of %s: no status answer within %v", name, wait)
		}
	}
}
