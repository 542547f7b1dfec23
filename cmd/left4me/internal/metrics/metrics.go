// Package metrics writes what left4me knows of its servers in the
// Prometheus text exposition format, through prometheus/client_golang (its
// escaping of label values and its format checks, not ours). The numbers
// are gathered by the caller into a Snapshot: this package only names and
// writes them, so it is tested without servers.
package metrics

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Instance is one server's numbers. Unknown ones are left out, never
// written as 0 (a 0 would read as a fact).
type Instance struct {
	Name     string
	Up       bool // the unit is active: started, ready, and alive as its watchdog judges it
	Answered bool // it answered A2S_INFO: Players, Bots, MaxPlayers, Map and Latency are known
	// Hibernating: its console last said it hibernates (its relay's
	// status line) and no answer says anyone is on: the engine hibernates
	// only with no human on and punts its bots, so Players and Bots are 0
	// though it answers nothing.
	Hibernating bool
	Players     int // humans
	Bots        int
	MaxPlayers  int
	Map         string
	Latency     float64 // seconds of the A2S_INFO round trip
	Restarts    *int64  // systemd's NRestarts
	MemoryBytes *int64  // the unit's cgroup memory.current
	CPUSeconds  *float64
	UpperBytes  *int64   // space the upper layer takes
	LastBackup  *float64 // Unix time of the newest backup
}

// Snapshot is everything written.
type Snapshot struct {
	Instances  []Instance
	GameBuild  string   // digits; "" unknown
	GameUpdate *float64 // Unix time the current build was installed
}

// MaxMap bounds a map label: the map name is the server's (untrusted) text.
const MaxMap = 64

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s
}

type collector struct{ s Snapshot }

var (
	upDesc      = prometheus.NewDesc("l4d2_up", "1 if the server's unit is active: started, ready, and alive as its watchdog judges it (an empty L4D2 server hibernates and answers no A2S_INFO, and is up).", []string{"instance"}, nil)
	a2sDesc     = prometheus.NewDesc("l4d2_a2s_up", "1 if the server answered A2S_INFO at this scrape (0 while it hibernates empty, with -nomaster, or under a query flood).", []string{"instance"}, nil)
	playersDesc = prometheus.NewDesc("l4d2_players", "Human players (A2S_INFO players minus bots).", []string{"instance"}, nil)
	botsDesc    = prometheus.NewDesc("l4d2_bots", "Bots (A2S_INFO).", []string{"instance"}, nil)
	maxDesc     = prometheus.NewDesc("l4d2_max_players", "Player slots (A2S_INFO).", []string{"instance"}, nil)
	mapDesc     = prometheus.NewDesc("l4d2_map_info", "The map being played (label map, cut to 64 bytes); always 1.", []string{"instance", "map"}, nil)
	hibDesc     = prometheus.NewDesc("l4d2_hibernating", "1 if the server's console last said it hibernates: nobody is on it (l4d2_players and l4d2_bots are 0), and it answers no A2S_INFO.", []string{"instance"}, nil)
	latDesc     = prometheus.NewDesc("l4d2_a2s_latency_seconds", "Round trip of the A2S_INFO query.", []string{"instance"}, nil)
	restDesc    = prometheus.NewDesc("l4d2_restarts_total", "Automatic restarts of the unit (systemd's NRestarts) since it was last started by hand.", []string{"instance"}, nil)
	memDesc     = prometheus.NewDesc("l4d2_memory_bytes", "Memory of the unit's cgroup (memory.current).", []string{"instance"}, nil)
	cpuDesc     = prometheus.NewDesc("l4d2_cpu_seconds_total", "CPU time of the unit's cgroup (cpu.stat usage_usec).", []string{"instance"}, nil)
	upperDesc   = prometheus.NewDesc("l4d2_upper_bytes", "Disk space the instance's upper layer (what the server wrote) takes.", []string{"instance"}, nil)
	backupDesc  = prometheus.NewDesc("l4d2_backup_last_timestamp_seconds", "When the newest backup of the instance was taken (Unix time).", []string{"instance"}, nil)
	buildDesc   = prometheus.NewDesc("l4d2_game_build", "The current game installation's Steam build ID.", nil, nil)
	updateDesc  = prometheus.NewDesc("l4d2_game_update_timestamp_seconds", "When the current game build was installed (Unix time); age is time() minus this.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upDesc, a2sDesc, playersDesc, botsDesc, maxDesc, mapDesc, hibDesc, latDesc, restDesc, memDesc, cpuDesc, upperDesc, backupDesc, buildDesc, updateDesc} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, in := range c.s.Instances {
		up := 0.0
		if in.Up {
			up = 1
		}
		g(upDesc, up, in.Name)
		answered := 0.0
		if in.Answered {
			answered = 1
		}
		hibernating := 0.0
		if in.Hibernating {
			hibernating = 1
		}
		if in.Up {
			g(a2sDesc, answered, in.Name)
			g(hibDesc, hibernating, in.Name)
		}
		switch {
		case in.Answered:
			g(playersDesc, float64(in.Players), in.Name)
			g(botsDesc, float64(in.Bots), in.Name)
			g(maxDesc, float64(in.MaxPlayers), in.Name)
			g(mapDesc, 1, in.Name, cut(in.Map, MaxMap))
			g(latDesc, in.Latency, in.Name)
		case in.Up && in.Hibernating:
			g(playersDesc, 0, in.Name)
			g(botsDesc, 0, in.Name)
		}
		if in.Restarts != nil {
			ch <- prometheus.MustNewConstMetric(restDesc, prometheus.CounterValue, float64(*in.Restarts), in.Name)
		}
		if in.MemoryBytes != nil {
			g(memDesc, float64(*in.MemoryBytes), in.Name)
		}
		if in.CPUSeconds != nil {
			ch <- prometheus.MustNewConstMetric(cpuDesc, prometheus.CounterValue, *in.CPUSeconds, in.Name)
		}
		if in.UpperBytes != nil {
			g(upperDesc, float64(*in.UpperBytes), in.Name)
		}
		if in.LastBackup != nil {
			g(backupDesc, *in.LastBackup, in.Name)
		}
	}
	if b, err := strconv.ParseFloat(c.s.GameBuild, 64); err == nil {
		g(buildDesc, b)
	}
	if c.s.GameUpdate != nil {
		g(updateDesc, *c.s.GameUpdate)
	}
}

// Write writes s as Prometheus text.
func Write(w io.Writer, s Snapshot) error {
	sort.Slice(s.Instances, func(i, j int) bool { return s.Instances[i].Name < s.Instances[j].Name })
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(collector{s}); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

// ContentType is what Write writes, for HTTP.
var ContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))
