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
// counts, and only within the answer (see Humans).
var playersLine = regexp.MustCompile(`^players : (\d{1,3}) humans, \d{1,3} bots \(`)

// Humans asks name's console how many humans play: the "players" line of
// its status, within wait. It answers where A2S does not: an empty L4D2
// server hibernates and drops queries (since the June 2021 update), as
// does one with -nomaster or in LAN mode, while its console still runs
// each frame. Everything a server prints reaches the console, a player's
// chat too ("NAME: TEXT", Host_Say): the status is framed by two echoes of
// a random word (Cmd_Echo_f, engine/cmd.cpp, Source 2013), and the answer
// counts only with its hostname line and exactly one players line between
// them.
func (e *Env) Humans(ctx context.Context, name string, wait time.Duration) (int, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return 0, err
	}
	begin := "left4me-" + hex.EncodeToString(nonce[:])
	end := begin + "-end"
	conn, err := e.ConsoleDial(ctx, name)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "echo "+begin+"\nstatus\necho "+end+"\n"); err != nil {
		return 0, fmt.Errorf("console of %s: %w", name, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	r := bufio.NewReaderSize(conn, maxAnswerLine)
	total, lineStart := 0, true
	inside, host, humans, counts := false, false, 0, 0
	for {
		b, err := r.ReadSlice('\n')
		line := strings.TrimRight(string(b), "\r\n")
		if lineStart {
			switch t := strings.TrimSpace(line); {
			case strings.HasPrefix(line, "left4me: "):
				return 0, fmt.Errorf("%w: %s", fail.ErrPermission, strings.TrimPrefix(line, "left4me: "))
			case t == begin:
				inside = true
			case t == end && inside:
				if !host || counts != 1 {
					return 0, fmt.Errorf("console of %s: its status was not one hostname and one players line (%d players lines)", name, counts)
				}
				return humans, nil
			case inside && strings.HasPrefix(line, "hostname:"):
				host = true
			case inside:
				if m := playersLine.FindStringSubmatch(line); m != nil {
					humans, _ = strconv.Atoi(m[1])
					counts++
				}
			}
		}
		lineStart = len(b) > 0 && b[len(b)-1] == '\n'
		if total += len(b); total > maxAnswer {
			return 0, fmt.Errorf("console of %s: no status in %d MiB of answer", name, maxAnswer>>20)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("console of %s: no status answer within %v", name, wait)
		}
	}
}
