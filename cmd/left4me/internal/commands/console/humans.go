package console

import (
	"bufio"
	"context"
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
// 2013), followed by "(hibernating)" or "(not hibernating)" in the engines
// since L4D2's (cstrike15_src). Only a line's start counts.
var playersLine = regexp.MustCompile(`^players\s*:\s*(\d{1,3}) humans?,`)

// Humans asks name's console how many humans play: the "players" line of
// its status, within wait. It answers where A2S does not: an empty L4D2
// server hibernates and drops queries (since the June 2021 update), as
// does one with -nomaster or in LAN mode, while its console still runs
// each frame. The server's own output is as trustworthy as its A2S
// answer, no more: both come from the server.
func (e *Env) Humans(ctx context.Context, name string, wait time.Duration) (int, error) {
	conn, err := e.ConsoleDial(ctx, name)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "status\n"); err != nil {
		return 0, fmt.Errorf("console of %s: %w", name, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	r := bufio.NewReaderSize(conn, maxAnswerLine)
	total, lineStart := 0, true
	for {
		b, err := r.ReadSlice('\n')
		line := strings.TrimRight(string(b), "\r\n")
		switch {
		case lineStart && strings.HasPrefix(line, "left4me: "):
			return 0, fmt.Errorf("%w: %s", fail.ErrPermission, strings.TrimPrefix(line, "left4me: "))
		case lineStart:
			if m := playersLine.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				return n, nil
			}
		}
		lineStart = len(b) > 0 && b[len(b)-1] == '\n'
		if total += len(b); total > maxAnswer {
			return 0, fmt.Errorf("console of %s: no players line in %d MiB of answer", name, maxAnswer>>20)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("console of %s: no status answer within %v", name, wait)
		}
	}
}
