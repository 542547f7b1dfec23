package main

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// The engine answers one address at most sv_max_queries_sec queries a
// second on average over sv_max_queries_window seconds, and drops the rest
// without a word: CIPRateLimit::CheckIP (engine/sv_ipratelimit.cpp in
// nillerusr/source-engine, CheckIPInternal; in cstrike15_src, CheckIP)
// returns false, and CBaseServer::ProcessConnectionlessPacket (engine/
// baseserver.cpp in both) returns at once, sending nothing. Source 2013
// checks it for every query it passes to Steam (the switch's default:
// A2S_INFO, A2S_PLAYER, A2S_RULES, with or without their challenge, "rate
// limit the more expensive server query packets"); CS:GO for every
// connectionless packet, before it even looks whether the server is active
// (CheckConnectionLessRateLimits). The stand-in counts every datagram it
// reads, as CS:GO does: the harsher.
//
// The defaults are Source 2013's (engine/baseserver.cpp, nillerusr/
// source-engine): sv_max_queries_sec "3.0", sv_max_queries_window "30"
// (CS:GO allows 10 a second, cstrike15_src engine/sv_ipratelimit.cpp: 3 is
// the harsher). Every left4me process asks from 127.0.0.1, so the relay's
// probe, the CLI, metrics and the tests share one address's budget.
const (
	defaultQueriesPerIP = 3.0 // sv_max_queries_sec, Source 2013
	defaultQueryWindow  = 30  // sv_max_queries_window, seconds, both
	// The engine forgets addresses idle for FLUSH_TIMEOUT (120 s) once it
	// tracks more than MAX_TREE_SIZE (32768) of them (engine/
	// sv_ipratelimit.h, nillerusr/source-engine).
	ipFlushAfter = 120
	ipMaxTracked = 32768
)

// ipLimit is CIPRateLimit's per-address limit.
type ipLimit struct {
	perSec float64 // sv_max_queries_sec
	window float64 // sv_max_queries_window, seconds
	// epoch is Plat_FloatTime's zero: the engine counts whole seconds
	// since it started ((long)Plat_FloatTime(), CheckIPInternal).
	epoch time.Time
	mu    sync.Mutex
	ips   map[netip.Addr]*ipRate
}

// ipRate is the engine's iprate_s: when the address's window began, and
// how many queries it sent since, answered or not.
type ipRate struct {
	lastTime int64
	count    int
}

func newIPLimit(perSec, window float64, epoch time.Time) *ipLimit {
	return &ipLimit{perSec: perSec, window: window, epoch: epoch, ips: map[netip.Addr]*ipRate{}}
}

// allow reports whether a query from ip arriving at now is answered, as
// CIPRateLimit::CheckIPInternal (Source 2013) decides for its address:
//
//   - an address not seen yet starts a window at curTime, count 1: answered;
//   - else the count goes up first, dropped queries included ("a new hit");
//   - a query more than window seconds (whole seconds) after the window
//     began starts a new one, count 1: answered. The window is fixed at
//     its first query: drops do not move it, nor do answers;
//   - otherwise the query is dropped once count/window > sv_max_queries_sec:
//     with the defaults the 91st query of a window (91/30 > 3.0).
func (l *ipLimit) allow(ip netip.Addr, now time.Time) bool {
	cur := int64(now.Sub(l.epoch) / time.Second)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ips) > ipMaxTracked {
		for a, e := range l.ips {
			if cur-e.lastTime > ipFlushAfter && a != ip {
				delete(l.ips, a)
			}
		}
	}
	e, ok := l.ips[ip]
	if !ok {
		l.ips[ip] = &ipRate{lastTime: cur, count: 1}
		return true
	}
	e.count++
	if float64(cur-e.lastTime) > l.window {
		e.lastTime, e.count = cur, 1
		return true
	}
	return float32(e.count)/float32(l.window) <= float32(l.perSec)
}

// fromIP is the address the engine keys a query by: its IP, whatever the
// port (iprate_s.ip), an IPv4 one unmapped.
func fromIP(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// readIPLimit reads STANDIN_MAX_QUERIES_PER_IP (sv_max_queries_sec, a
// number; 0 turns the limit off) and STANDIN_MAX_QUERIES_WINDOW
// (sv_max_queries_window, whole seconds), the engine's defaults when unset.
func readIPLimit(getenv func(string) string) (perSec, window float64, err error) {
	perSec, window = defaultQueriesPerIP, defaultQueryWindow
	if v := getenv("STANDIN_MAX_QUERIES_PER_IP"); v != "" {
		if perSec, err = strconv.ParseFloat(v, 64); err != nil || perSec < 0 {
			return 0, 0, fmt.Errorf("STANDIN_MAX_QUERIES_PER_IP=%q: want a number of queries a second, 0 for no limit", v)
		}
	}
	if v := getenv("STANDIN_MAX_QUERIES_WINDOW"); v != "" {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			return 0, 0, fmt.Errorf("STANDIN_MAX_QUERIES_WINDOW=%q: want whole seconds, at least 1", v)
		}
		window = float64(n)
	}
	return perSec, window, nil
}
