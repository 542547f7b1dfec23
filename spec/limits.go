package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/left4me/left4me/spec/specfile"
)

// LimitsFile, in the config directory, holds the host's ceilings on what a
// spec's resources: may ask for. Specs come from a web front end; without
// ceilings one could lift the protection the template gives the host
// (nice: -20, tasks_max: 1000000, memory_max: 1P).
const LimitsFile = "limits.yaml"

// Limits are the ceilings; the operator sets them in LimitsFile.
type Limits struct {
	MemoryMax    string `yaml:"memory_max"`     // largest memory_max, a size
	CPUQuota     string `yaml:"cpu_quota"`      // largest cpu_quota, a percentage
	CPUWeightMax int    `yaml:"cpu_weight_max"` // largest cpu_weight
	TasksMax     int    `yaml:"tasks_max"`      // largest tasks_max
	NiceMin      int    `yaml:"nice_min"`       // lowest (most favoured) nice
	Disk         string `yaml:"disk"`           // largest disk, a size; also a spec's without one
	// Backups hold what servers wrote: largest backups.keep and
	// backups.max_age (a duration), also a spec's without them.
	BackupKeep   int    `yaml:"backup_keep"`
	BackupMaxAge string `yaml:"backup_max_age"`

	file string // where they came from, for messages
}

// DefaultLimits apply where LimitsFile sets nothing: generous for one game
// server, short of letting it starve the host.
func DefaultLimits() Limits {
	return Limits{MemoryMax: "16G", CPUQuota: "400%", CPUWeightMax: 1000, TasksMax: 4096, NiceMin: -5, Disk: "20G",
		BackupKeep: 30, BackupMaxAge: "2160h"}
}

// LoadLimits reads configDir/limits.yaml over DefaultLimits. A missing file
// is the defaults. A file that cannot be used is an error, and the
// defaults apply meanwhile (they are the strict side).
func LoadLimits(configDir string) (Limits, error) {
	l := DefaultLimits()
	path := filepath.Join(configDir, LimitsFile)
	l.file = path
	data, err := specfile.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		l.file = "the default ceilings (" + path + " does not exist)"
		return l, nil
	}
	if err == nil && len(data) > 64<<10 {
		err = fmt.Errorf("%s: larger than 64 KiB", path)
	}
	if err == nil {
		// Empty: the defaults. The values that did decode are judged
		// too, so every problem is said at once.
		f, derr := DecodeFile(path, data, &l)
		err = JoinByLine(derr, l.check(f))
	}
	if err != nil {
		d := DefaultLimits()
		d.file = "the default ceilings (" + path + " is unusable)"
		return d, LimitsError{fmt.Errorf("%w\n(until it is fixed, the default ceilings apply)", err)}
	}
	return l, nil
}

// LimitsError is a limits.yaml that cannot be used. The default ceilings
// apply meanwhile, as the generator applies them, so the specs are judged
// (and their servers started) by those: a caller reports it and carries
// on, as the generator does.
type LimitsError struct{ error }

func (e LimitsError) Unwrap() error { return e.error }

// check judges the values f located.
func (l Limits) check(f Fields) error {
	var errs []error
	if msg := memorySize(l.MemoryMax); msg != "" {
		errs = append(errs, f.At("memory_max", "%s %s", quoteCut(l.MemoryMax), msg))
	}
	if msg := cpuQuota(l.CPUQuota); msg != "" {
		errs = append(errs, f.At("cpu_quota", "%s %s", quoteCut(l.CPUQuota), msg))
	}
	if msg := diskSize(l.Disk); msg != "" {
		errs = append(errs, f.At("disk", "%s %s", quoteCut(l.Disk), msg))
	}
	if l.CPUWeightMax < 1 || l.CPUWeightMax > 10000 {
		errs = append(errs, f.At("cpu_weight_max", "%d is out of range 1..10000", l.CPUWeightMax))
	}
	if l.TasksMax < 16 || l.TasksMax > 1000000 {
		errs = append(errs, f.At("tasks_max", "%d is out of range 16..1000000", l.TasksMax))
	}
	if l.BackupKeep < 1 || l.BackupKeep > maxBackupKeep {
		errs = append(errs, f.At("backup_keep", "%d is out of range 1..%d", l.BackupKeep, maxBackupKeep))
	}
	if d, err := time.ParseDuration(l.BackupMaxAge); err != nil || d < time.Hour || d > maxBackupMaxAge {
		errs = append(errs, f.At("backup_max_age", "%s is not a duration in 1h..%v", quoteCut(l.BackupMaxAge), maxBackupMaxAge))
	}
	if l.NiceMin < -20 || l.NiceMin > 19 {
		errs = append(errs, f.At("nice_min", "%d is out of range -20..19", l.NiceMin))
	}
	return errors.Join(errs...)
}

// CheckLimits refuses resources above the host's ceilings, each problem
// located at its value in file.
func (s *Spec) CheckLimits(file string, l Limits) error {
	r := s.Resources
	var errs []error
	over := func(key, format string, args ...any) {
		pos := r.pos[key]
		errs = append(errs, &Error{File: file, Line: pos[0], Column: pos[1], Field: "resources." + key,
			Msg: fmt.Sprintf(format, args...) + " (the host's ceiling, set in " + l.file + ")"})
	}
	if r.MemoryMax != "" {
		have, _ := parseSize(r.MemoryMax)
		if most, _ := parseSize(l.MemoryMax); have > most {
			over("memory_max", "%s is above %s", r.MemoryMax, l.MemoryMax)
		}
	}
	if r.CPUQuota != "" {
		have, _ := strconv.Atoi(strings.TrimSuffix(r.CPUQuota, "%"))
		if most, _ := strconv.Atoi(strings.TrimSuffix(l.CPUQuota, "%")); have > most {
			over("cpu_quota", "%s is above %s", r.CPUQuota, l.CPUQuota)
		}
	}
	if r.Disk != "" {
		if most, _ := parseSize(l.Disk); r.DiskBytes() > most {
			over("disk", "%s is above %s", r.Disk, l.Disk)
		}
	}
	if r.LogSize != "" {
		most, _ := parseSize(l.Disk)
		if r.Disk != "" {
			most = r.DiskBytes()
		}
		if have, _ := parseSize(r.LogSize); have > most {
			over("log_size", "%s is above the disk ceiling", r.LogSize)
		}
	}
	if r.CPUWeight > l.CPUWeightMax {
		over("cpu_weight", "%d is above %d", r.CPUWeight, l.CPUWeightMax)
	}
	if r.TasksMax > l.TasksMax {
		over("tasks_max", "%d is above %d", r.TasksMax, l.TasksMax)
	}
	if r.Nice != nil && *r.Nice < l.NiceMin {
		over("nice", "%d is below %d", *r.Nice, l.NiceMin)
	}
	errs = append(errs, s.Backups.checkLimits(file, l))
	return errors.Join(errs...)
}

// The template's defaults (units.RenderTemplate) and systemd's, which a
// spec that leaves a value out gets unless a ceiling is lower.
const (
	DefaultMemoryMax = "2G"
	DefaultTasksMax  = 512
	systemdCPUWeight = 100 // CPUWeight= unset (systemd.resource-control(5))
)

// BindLimits makes the host's ceilings bind a spec that leaves a value out,
// as they bind one that sets it: without cpu_quota it gets the ceiling's
// (not systemd's unlimited CPUQuota=); without memory_max, tasks_max,
// cpu_weight or nice it gets the ceiling where the default would be above
// it. Run after CheckLimits accepted s.
func (s *Spec) BindLimits(l Limits) {
	r := &s.Resources
	if r.MemoryMax == "" {
		most, _ := parseSize(l.MemoryMax)
		if def, _ := parseSize(DefaultMemoryMax); most < def {
			r.MemoryMax = l.MemoryMax
		}
	}
	if r.CPUQuota == "" {
		r.CPUQuota = l.CPUQuota
	}
	if r.Disk == "" {
		r.Disk = l.Disk
	}
	if r.CPUWeight == 0 && l.CPUWeightMax < systemdCPUWeight {
		r.CPUWeight = l.CPUWeightMax
	}
	if r.TasksMax == 0 && l.TasksMax < DefaultTasksMax {
		r.TasksMax = l.TasksMax
	}
	if r.Nice == nil && l.NiceMin > 0 {
		n := l.NiceMin
		r.Nice = &n
	}
	s.Backups.bindLimits(l)
}
