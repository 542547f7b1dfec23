// Package startplan is what the start helper needs from a spec, written by
// the generator next to the instance's drop-in at every daemon-reload. The
// generator has parsed and validated the spec already; with the plan the
// helper, which runs before every server start, neither links nor runs the
// YAML parser (see docs/PERFORMANCE.md). A plan carries the bytes of the
// spec it came from, so an edit since the last reload is still refused, by
// an exact comparison that needs no hashing code in the helper.
package startplan

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/left4me/left4me/spec/layout"
)

// Names shared by the generator, the units and the helper.
const (
	// DirEnv is set in l4d2@.service to the generator's output directory.
	DirEnv = "LEFT4ME_PLAN_DIR"
	// DefaultDir is where systemd runs generators at boot and reload, for
	// a helper run by hand.
	DefaultDir = "/run/systemd/generator"
	// FileName is the plan in l4d2@NAME.service.d/ (systemd reads only
	// *.conf there).
	FileName = "left4me-start.plan"
	// MaxSize bounds a plan: a spec is at most 1 MiB, and so are its items.
	MaxSize = 3 << 20
	header  = "left4me-start-plan 1"
)

// ErrInvalid matches every error about a plan's content.
var ErrInvalid = errors.New("invalid start plan")

// Plan is a valid spec's overlays and config lines, or, for a spec that
// was invalid at the last reload, the generator's errors.
type Plan struct {
	Spec     []byte // the spec file the plan was made from
	Overlays []Overlay
	Config   []string
	Disk     int64 // bytes the upper layer and dumps may hold; 0 = no ceiling
	// LogDays and LogBytes bound the game's logs in the upper layer (by
	// age and in total); 0 = the start helper's defaults.
	LogDays  int
	LogBytes int64
	Errors   []string // non-empty: the spec was invalid; nothing else is set
	Ports    []Port   // the whole set, for the start helper's record
	Limits   Limits   // zero in the host's plan
}

// Limits are the server's cgroup limits, which the start helper sets on
// its unit at every start as runtime properties (systemctl set-property
// --runtime), not the generator in its drop-in: systemd applies a unit
// file's cgroup settings to the running cgroup at every daemon-reload
// (unit_deserialize_state invalidates the realized cgroup, src/core/
// unit-serialize.c), so a limit lowered in the spec would hit a running
// server at once, and a MemoryMax below what it uses is the OOM killer.
// Set at the start, they hold until the next one, whatever is reloaded.
type Limits struct {
	MemoryMax uint64 // bytes
	TasksMax  uint64
	CPUQuota  uint64 // µs of CPU time per second; 0: none
	CPUWeight uint64 // 0: systemd's default
}

// Port is one UDP port of the instance's set and its role ("game",
// "client", "tv", "steam"): the start helper records the set it started
// with (layout.Ports), which spec.ClaimPorts reads back.
type Port struct {
	Role string
	Port int
}

// FormatPorts is the record of ports: one "ROLE PORT" line each.
func FormatPorts(ports []Port) []byte {
	var b []byte
	for _, p := range ports {
		b = append(b, p.Role...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(p.Port), 10)
		b = append(b, '\n')
	}
	return b
}

// ParsePorts reads FormatPorts's record, or a plan's "port" items.
func ParsePorts(b []byte) ([]Port, error) {
	var out []Port
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		p, err := parsePort(l)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePort(l string) (Port, error) {
	role, port, ok := strings.Cut(l, " ")
	n, err := strconv.Atoi(port)
	if !ok || err != nil || n < 1 || n > 65535 || role == "" || len(role) > 8 || strings.Trim(role, "abcdefghijklmnopqrstuvwxyz") != "" {
		return Port{}, fmt.Errorf("%w: %q is not ROLE PORT", ErrInvalid, l)
	}
	return Port{role, n}, nil
}

// Overlay is one layer, first = top-most.
type Overlay struct {
	Path  string // below overlays/
	Alias string // "" for none
}

// HostPath is where the host's plan lives below dir (spec.HostPlan), in
// the template's drop-in directory (systemd reads only *.conf there).
func HostPath(dir string) string {
	return filepath.Join(dir, layout.Unit("")+".d", FileName)
}

// Path is where the plan of instance name lives below dir.
func Path(dir, name string) string {
	return filepath.Join(dir, layout.Unit(name)+".d", FileName)
}

// Encode renders p, one item per line; nothing in a valid spec's items can
// hold a newline (spec refuses control characters).
func Encode(p Plan) []byte {
	size := len(header) + 32 + len(p.Spec)
	for _, o := range p.Overlays {
		size += len(o.Path) + len(o.Alias) + 10
	}
	for _, c := range p.Config {
		size += len(c) + 8
	}
	b := make([]byte, 0, size)
	b = append(b, header+"\n"...)
	for _, e := range p.Errors {
		for _, l := range strings.Split(e, "\n") {
			b = append(b, "error "...)
			b = append(b, l...)
			b = append(b, '\n')
		}
	}
	if len(p.Errors) > 0 {
		return b
	}
	for _, o := range p.Overlays {
		b = append(b, "overlay "...)
		b = append(b, o.Path...)
		if o.Alias != "" {
			b = append(b, ' ')
			b = append(b, o.Alias...)
		}
		b = append(b, '\n')
	}
	for _, c := range p.Config {
		b = append(b, "config "...)
		b = append(b, c...)
		b = append(b, '\n')
	}
	for _, pt := range p.Ports {
		b = append(b, "port "...)
		b = append(b, FormatPorts([]Port{pt})...)
	}
	if l := p.Limits; l.MemoryMax > 0 {
		b = append(b, "limits "...)
		for i, n := range []uint64{l.MemoryMax, l.TasksMax, l.CPUQuota, l.CPUWeight} {
			if i > 0 {
				b = append(b, ' ')
			}
			b = strconv.AppendUint(b, n, 10)
		}
		b = append(b, '\n')
	}
	if p.Disk > 0 {
		b = append(b, "disk "...)
		b = strconv.AppendInt(b, p.Disk, 10)
		b = append(b, '\n')
	}
	if p.LogDays > 0 || p.LogBytes > 0 {
		b = append(b, "logs "...)
		b = strconv.AppendInt(b, int64(p.LogDays), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, p.LogBytes, 10)
		b = append(b, '\n')
	}
	// Last, as it may hold anything: the spec's bytes, counted.
	b = append(b, "spec "...)
	b = strconv.AppendInt(b, int64(len(p.Spec)), 10)
	b = append(b, '\n')
	return append(b, p.Spec...)
}

// Decode parses a plan and checks every item again (overlay paths and
// aliases by the same rules as the spec), so a damaged plan cannot name a
// path outside overlays/.
func Decode(data []byte) (Plan, error) {
	var p Plan
	text, ok := bytes.CutPrefix(data, []byte(header+"\n"))
	if !ok {
		return p, fmt.Errorf("%w: no %q header", ErrInvalid, header)
	}
	var errs []error
	n := 1
	for len(text) > 0 {
		n++
		bad := func(msg string) { errs = append(errs, fmt.Errorf("%w: line %d: %s", ErrInvalid, n, msg)) }
		raw, rest, ok := bytes.Cut(text, []byte("\n"))
		if !ok {
			bad("truncated")
			break
		}
		text = rest
		key, val, _ := strings.Cut(string(raw), " ")
		switch key {
		case "error":
			p.Errors = append(p.Errors, val)
		case "overlay":
			path, alias, _ := strings.Cut(val, " ")
			if msg := layout.ValidateOverlayPath(path); msg != "" {
				bad(msg)
			}
			if msg := layout.ValidateAlias(alias); alias != "" && msg != "" {
				bad(msg)
			}
			p.Overlays = append(p.Overlays, Overlay{Path: path, Alias: alias})
		case "config":
			p.Config = append(p.Config, val)
		case "port":
			pt, err := parsePort(val)
			if err != nil {
				bad(err.Error())
			}
			p.Ports = append(p.Ports, pt)
		case "limits":
			var l Limits
			f := strings.Fields(val)
			ok := len(f) == 4
			for i, to := range []*uint64{&l.MemoryMax, &l.TasksMax, &l.CPUQuota, &l.CPUWeight} {
				if !ok {
					break
				}
				var err error
				*to, err = strconv.ParseUint(f[i], 10, 64)
				ok = err == nil
			}
			if !ok || l.MemoryMax == 0 || l.TasksMax == 0 || l.CPUWeight > 10000 {
				bad(fmt.Sprintf("limits %q is not MEMORY TASKS CPU_QUOTA CPU_WEIGHT", val))
			}
			p.Limits = l
		case "disk":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n <= 0 {
				bad(fmt.Sprintf("disk %q is not a positive number of bytes", val))
			}
			p.Disk = n
		case "logs":
			d, by, _ := strings.Cut(val, " ")
			days, err1 := strconv.Atoi(d)
			nb, err2 := strconv.ParseInt(by, 10, 64)
			if err1 != nil || err2 != nil || days < 0 || nb < 0 {
				bad(fmt.Sprintf("logs %q is not DAYS BYTES", val))
			}
			p.LogDays, p.LogBytes = days, nb
		case "spec":
			size, err := strconv.Atoi(val)
			if err != nil || size != len(text) {
				bad(fmt.Sprintf("spec of %q bytes, %d follow", val, len(text)))
			}
			p.Spec, text = text, nil
		default:
			bad(fmt.Sprintf("unknown item %q", key))
		}
	}
	if len(errs) == 0 && len(p.Errors) == 0 && p.Spec == nil {
		errs = append(errs, fmt.Errorf("%w: no spec", ErrInvalid))
	}
	return p, errors.Join(errs...)
}
