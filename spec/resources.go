package spec

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/left4me/left4me/spec/startplan"
)

// Resources are per-instance limits, mapped 1:1 to systemd settings. Unset
// fields keep the template's defaults (MemoryMax=2G, TasksMax=512).
type Resources struct {
	MemoryMax   string // systemd size, e.g. "3G"
	CPUQuota    string // e.g. "150%"
	CPUWeight   int    // 1..10000, 0 = unset
	CPUAffinity string // e.g. "2-3,6"
	Nice        *int   // -20..19
	TasksMax    int    // 0 = unset
	// Disk is the most the instance's upper layer and dumps may hold, a
	// size; the start helper and left4me-disk.timer enforce it.
	Disk string
	// LogDays and LogSize bound the game's logs in the upper layer (the
	// start helper and left4me-disk.timer prune them); 0 and "" keep the
	// defaults (DefaultLogDays, DefaultLogSize).
	LogDays int
	LogSize string

	pos map[string][2]int // line, column of each value, for CheckLimits
}

func (p *parser) resources(v *yaml.Node) Resources {
	var r Resources
	if v.Kind != yaml.MappingNode {
		p.add(v, "resources", "must be a mapping (memory_max:, cpu_quota:, ...), got %s", describe(v))
		return r
	}
	skip := p.duplicates(v, "resources.")
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		f := "resources." + k.Value
		if skip[i] {
			continue
		}
		if r.pos == nil {
			r.pos = map[string][2]int{}
		}
		r.pos[k.Value] = [2]int{val.Line, val.Column}
		switch k.Value {
		case "memory_max":
			r.MemoryMax = p.check(val, f, memorySize)
		case "cpu_quota":
			r.CPUQuota = p.check(val, f, cpuQuota)
		case "cpu_affinity":
			r.CPUAffinity = p.check(val, f, cpuList)
		case "cpu_weight":
			r.CPUWeight = p.intIn(val, f, 1, 10000)
		case "tasks_max":
			r.TasksMax = p.intIn(val, f, 16, 1000000)
		case "nice":
			n := p.intIn(val, f, -20, 19)
			r.Nice = &n
		case "disk":
			r.Disk = p.check(val, f, diskSize)
		case "log_days":
			r.LogDays = p.intIn(val, f, 1, 3650)
		case "log_size":
			r.LogSize = p.check(val, f, logSize)
		default:
			p.unknownKey(k, f, KnownKeys()[ResourcesKeys])
		}
	}
	return r
}

func (p *parser) intIn(v *yaml.Node, field string, lo, hi int) int {
	n, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" || err != nil || n < lo || n > hi {
		p.add(v, field, "must be a whole number %d..%d, got %s", lo, hi, describe(v))
		return 0
	}
	return n
}

// check reads a scalar and validates it; it returns "" when invalid.
func (p *parser) check(v *yaml.Node, field string, valid func(string) string) string {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.add(v, field, "must be a value, got %s", describe(v))
		return ""
	}
	if msg := valid(v.Value); msg != "" {
		p.add(v, field, "%s %s", quoteCut(v.Value), msg)
		return ""
	}
	return v.Value
}

// sizeAtLeast accepts what MemoryMax= does for sizes, a number of bytes
// with an optional K, M, G or T suffix (base 1024), of at least min;
// example and below are its messages' words.
func sizeAtLeast(s string, min int64, example, below string) string {
	n, ok := parseSize(s)
	if !ok {
		return "is not a size such as " + example
	}
	if n < min {
		return below
	}
	return ""
}

// memorySize: at least 64M.
func memorySize(s string) string {
	return sizeAtLeast(s, 64<<20, "2G or 1536M", "is below 64M, too little for a game server")
}

// diskSize: as memory_max, at least 64M (the staged cfgs and a day of logs).
func diskSize(s string) string {
	return sizeAtLeast(s, 64<<20, "2G or 1536M", "is below 64M, too little for a game server's logs and data")
}

// Defaults of the log bounds: LinuxGSM keeps logs 7 days (its logdays);
// 256M is a week of busy engine and SourceMod logs many times over.
const (
	DefaultLogDays = 7
	DefaultLogSize = "256M"
)

// logSize: as disk, at least 1M.
func logSize(s string) string {
	return sizeAtLeast(s, 1<<20, "256M or 1G", "is below 1M")
}

// LogBounds are the log bounds in days and bytes, the defaults where
// unset; the default size is at most half the disk ceiling.
func (r Resources) LogBounds() (days int, size int64) {
	days, size = r.LogDays, 0
	if days == 0 {
		days = DefaultLogDays
	}
	if r.LogSize != "" {
		size, _ = parseSize(r.LogSize)
		return days, size
	}
	size, _ = parseSize(DefaultLogSize)
	if d := r.DiskBytes(); d > 0 && d/2 < size {
		size = d / 2
	}
	return days, size
}

// Limits are r's cgroup limits for the start helper, l4d2@.service's
// defaults (DefaultMemoryMax, DefaultTasksMax) where unset.
func (r Resources) Limits() startplan.Limits {
	mem, _ := parseSize(r.MemoryMax)
	if mem == 0 {
		mem, _ = parseSize(DefaultMemoryMax)
	}
	l := startplan.Limits{MemoryMax: uint64(mem), TasksMax: uint64(r.TasksMax), CPUWeight: uint64(r.CPUWeight)}
	if l.TasksMax == 0 {
		l.TasksMax = DefaultTasksMax
	}
	if pct, err := strconv.Atoi(strings.TrimSuffix(r.CPUQuota, "%")); err == nil && pct > 0 {
		l.CPUQuota = uint64(pct) * 10000 // 100% = one CPU = 1 s per s
	}
	return l
}

// DiskBytes is r.Disk in bytes, 0 when unset.
func (r Resources) DiskBytes() int64 {
	n, _ := parseSize(r.Disk)
	return n
}

// parseSize reads a size as MemoryMax= does, in bytes.
func parseSize(s string) (int64, bool) {
	num, mult := s, int64(1)
	if i := len(s) - 1; i > 0 {
		switch s[i] {
		case 'K':
			num, mult = s[:i], 1<<10
		case 'M':
			num, mult = s[:i], 1<<20
		case 'G':
			num, mult = s[:i], 1<<30
		case 'T':
			num, mult = s[:i], 1<<40
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<50)/mult {
		return 0, false
	}
	return n * mult, true
}

// cpuQuota accepts "N%" with N 1..100000 (1000 CPUs).
func cpuQuota(s string) string {
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if !strings.HasSuffix(s, "%") || err != nil || n < 1 || n > 100000 {
		return "is not a percentage such as 150% (100% = one CPU)"
	}
	return ""
}

// cpuList accepts CPU numbers and ranges: "3", "0-3", "0-1,6".
func cpuList(s string) string {
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b > 4095 {
			return fmt.Sprintf("is not a CPU list such as 0-3 or 2,3 (bad %q)", part)
		}
	}
	return ""
}
