// Package probe tells whether a game server is up the way a player's client
// does: by its answer to A2S_INFO on its UDP port. Ready waits for the first
// answer (the start job completes only then); Watch keeps systemd's watchdog
// fed while the server is alive and lets it lapse when it hangs.
//
// Alive is more than answering: a live engine does not always answer A2S.
// It drops queries while it loads a map (CBaseServer::
// ProcessConnectionlessPacket, engine/baseserver.cpp, cstrike15_src), with
// -nomaster, past sv_max_queries_sec_global, and L4D2 stops answering while
// it hibernates (ValveSoftware/Source-1-Games#3611). So an answer, a line
// on its console or its main thread running frames (Engine) each count as
// alive; a hung engine shows none of them.
package probe

import (
	"context"
	"fmt"
	"time"

	"github.com/left4me/left4me/cmd/a2s"
)

// Logf receives progress lines (the journal, under systemd).
type Logf func(format string, args ...any)

// Queries to a starting server come quickly at first and then every
// retryEvery: a server that answers at once is noticed within
// firstRetry, one that loads for minutes costs a query every half second.
// A kick (a console line) asks early, but never sooner than kickGap after
// the last query: the engine answers one address at most
// sv_max_queries_sec (3) queries a second on average over
// sv_max_queries_window and drops the rest (CIPRateLimit::CheckIP,
// engine/sv_ipratelimit.cpp, Source 2013), and a server printing hundreds
// of lines at start must not get the probe blocked.
const (
	firstRetry = 25 * time.Millisecond
	retryEvery = 500 * time.Millisecond
	kickGap    = 400 * time.Millisecond
)

// Ready queries addr until the server answers or timeout passes. A server
// that dies first ends the wait with the relay itself, which exits when
// the server does (the e2e TestHealth sees the relay say so). Nothing
// feeds the watchdog meanwhile: start_timeout bounds the start.
//
// early reports what the server printed: that it is up though it does not
// answer (up says how: an L4D2 server hibernates as soon as it has loaded
// its map with nobody on, and then answers nothing, ValveSoftware/
// Source-1-Games#3611; a server flooded with queries from elsewhere drops
// ours past sv_max_queries_sec_global), or why it can never answer (then
// the start fails at once, saying so).
// Ready returns a zero Info when the server is up without an answer.
//
// kick (may be nil) asks again at once: the relay kicks at each console
// line, since a starting engine prints as it comes up.
func Ready(ctx context.Context, addr string, timeout time.Duration, early func() (up, cause string), kick <-chan struct{}, logf Logf) (a2s.Info, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	wait := firstRetry
	for {
		asked := time.Now()
		info, err := queryOnce(ctx, addr, time.Second)
		if err == nil {
			logf("ready: %q answers A2S_INFO on %s after %v (map %s, %d/%d players)",
				info.Name, addr, time.Since(start).Round(time.Millisecond), info.Map, info.Players, info.MaxPlayers)
			return info, nil
		}
		last = err
		up, why := early()
		if why != "" {
			return a2s.Info{}, fmt.Errorf("the server can never answer A2S_INFO on %s: %s", addr, why)
		}
		if up != "" {
			logf("ready: %s, though it answers no A2S_INFO on %s, after %v", up, addr, time.Since(start).Round(time.Millisecond))
			return a2s.Info{}, nil
		}
		if err := waitRetry(ctx, wait, asked, kick); err != nil {
			return a2s.Info{}, fmt.Errorf("the server never answered A2S_INFO on %s within %v (last: %v)", addr, timeout, last)
		}
		wait = min(2*wait, retryEvery)
	}
}

// waitRetry waits until wait after asked, or a kick at least kickGap
// after it, or ctx's end (an error).
func waitRetry(ctx context.Context, wait time.Duration, asked time.Time, kick <-chan struct{}) error {
	t := time.NewTimer(time.Until(asked.Add(wait)))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return nil
		case <-kick:
			if time.Since(asked) >= kickGap {
				return nil
			}
		}
	}
}

func queryOnce(ctx context.Context, addr string, limit time.Duration) (a2s.Info, error) {
	qctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return a2s.Query(qctx, addr)
}

// Interval is how often Watch asks for a hang timeout of hang: several
// queries per hang period, so one lost datagram never starves the
// watchdog.
func Interval(hang time.Duration) time.Duration {
	return max(hang/6, time.Second)
}

// Notifier sends sd_notify(3) states to the service manager.
type Notifier func(state string) error

// Alive reports whether the engine showed life other than an answer since
// the last call, and how ("console output", "frames running"), or why not.
type Alive func() (ok bool, how string)

// Watch queries addr every interval until ctx ends. An answer, or else
// another sign of life (alive), feeds the watchdog (WATCHDOG=1) and updates
// the unit's status line, which says that the server hibernates while
// hibernating (nil: never) reports that its console said so; after hang
// without any, Watch says the server is unresponsive and keeps the
// watchdog starving, so systemd restarts it.
func Watch(ctx context.Context, addr string, interval, hang time.Duration, notify Notifier, logf Logf, alive Alive, hibernating func() bool) error {
	lastOK := time.Now()
	warned, declared, quiet := false, false, false
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		info, err := queryOnce(ctx, addr, interval)
		now := time.Now()
		ok, how := false, ""
		if err != nil && ctx.Err() == nil {
			ok, how = alive()
		}
		switch {
		case err == nil:
			if warned || quiet {
				logf("answering A2S_INFO again")
			}
			lastOK, warned, declared, quiet = now, false, false, false
			state := fmt.Sprintf("WATCHDOG=1\nSTATUS=answering A2S_INFO: %d/%d players, map %s", info.Players, info.MaxPlayers, info.Map)
			if err := notify(state); err != nil {
				return fmt.Errorf("notify systemd: %w", err)
			}
		case ctx.Err() != nil:
			return nil
		case ok:
			if !quiet {
				logf("not answering A2S_INFO on %s, but alive (%s): a map load, hibernation, -nomaster or a query limit, not a hang", addr, how)
			}
			lastOK, warned, declared, quiet = now, false, false, true
			status := "alive (" + how + "), not answering A2S_INFO"
			if hibernating != nil && hibernating() {
				status = HibernatingStatus(how)
			}
			if err := notify("WATCHDOG=1\nSTATUS=" + status); err != nil {
				return fmt.Errorf("notify systemd: %w", err)
			}
		case !declared && now.Sub(lastOK) >= hang-interval:
			declared = true
			logf("unresponsive: no A2S_INFO answer on %s, no console output and no frames for %v (%s); systemd's watchdog restarts the server", addr, now.Sub(lastOK).Round(time.Second), how)
			_ = notify("STATUS=unresponsive: no A2S_INFO answer, no console output, no frames")
		case !warned && now.Sub(lastOK) >= hang/2:
			warned = true
			logf("no A2S_INFO answer on %s for %v (%v)", addr, now.Sub(lastOK).Round(time.Second), err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
