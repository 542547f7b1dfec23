package spec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Schedule is what an instance does by the calendar (schedule:). The
// generator makes a timer of each event: left4me-restart@NAME.timer and
// left4me-backup@NAME.timer.
type Schedule struct {
	// Restart is a calendar event (OnCalendar=, see Calendar); "" is none.
	// The restart waits for an empty server (left4me restart --scheduled):
	// at most RestartDeadline; then, with RestartForce, it warns the
	// players at RestartWarnAt before the deadline and goes ahead; without
	// it, an occupied server keeps running until the next event.
	Restart         string
	RestartDeadline time.Duration
	RestartForce    bool
	RestartWarnAt   []time.Duration
	RestartAnnounce string // "" is the CLI's default text
	// Backup is a calendar event for left4me backup NAME; "" is none.
	Backup string
}

// Defaults of a scheduled restart, those of left4me restart --when-empty
// --force (rollout.DefaultWarnAt).
const DefaultRestartDeadline = time.Hour

// DefaultRestartWarnAt are the warnings before a forced scheduled restart.
func DefaultRestartWarnAt() []time.Duration {
	return []time.Duration{10 * time.Minute, 5 * time.Minute, time.Minute}
}

// Limits of the schedule's values.
const (
	maxRestartDeadline = 24 * time.Hour
	maxWarnings        = 10
	maxAnnounce        = 200 // within one console line of the engine (254 bytes) after "say "
)

func (p *parser) schedule(v *yaml.Node) Schedule {
	sc := Schedule{RestartDeadline: DefaultRestartDeadline, RestartForce: true, RestartWarnAt: DefaultRestartWarnAt()}
	if v.Kind != yaml.MappingNode {
		p.add(v, "schedule", "must be a mapping (restart:, backup:, ...), got %s", describe(v))
		return sc
	}
	seen := map[string]*yaml.Node{}
	deadlineBad := false
	skip := p.duplicates(v, "schedule.")
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		f := "schedule." + k.Value
		if skip[i] {
			continue
		}
		seen[k.Value] = k
		switch k.Value {
		case "restart":
			sc.Restart = p.check(val, f, calendarMsg)
		case "backup":
			sc.Backup = p.check(val, f, calendarMsg)
		case "restart_deadline":
			n := len(p.errs) + p.dropped
			sc.RestartDeadline = p.duration(val, f, 0, maxRestartDeadline)
			deadlineBad = len(p.errs)+p.dropped > n
		case "restart_force":
			sc.RestartForce = p.boolean(val, f)
		case "restart_warn_at":
			sc.RestartWarnAt = p.durations(val, f)
		case "restart_announce":
			sc.RestartAnnounce = p.check(val, f, announceMsg)
		default:
			p.unknownKey(k, f, KnownKeys()[ScheduleKeys])
		}
	}
	// As left4me restart refuses a flag that would do nothing, a setting
	// that would do nothing is an error, not ignored.
	for _, key := range []string{"restart_deadline", "restart_force", "restart_warn_at", "restart_announce"} {
		if k := seen[key]; k != nil && seen["restart"] == nil {
			p.add(k, "schedule."+key, "only means something with schedule.restart (a calendar event such as \"*-*-* 05:00\")")
		}
	}
	if !sc.RestartForce {
		for _, key := range []string{"restart_warn_at", "restart_announce"} {
			if k := seen[key]; k != nil {
				p.add(k, "schedule."+key, "goes with restart_force: true: without it nobody is warned, since an occupied server is left running")
			}
		}
	} else if sc.RestartDeadline == 0 && seen["restart_deadline"] != nil && !deadlineBad { // a bad one is said once
		p.add(seen["restart_deadline"], "schedule.restart_deadline", "0 with restart_force would restart an occupied server at once with no warning; give a deadline (e.g. 30m), or restart_force: false")
	}
	return sc
}

func calendarMsg(s string) string {
	if msg := Calendar(s); msg != "" {
		return "is not a calendar event systemd takes: " + msg
	}
	return ""
}

// announceMsg keeps the warning to what the console can say as text:
// printable ASCII, no '"' (the say is typed quoted, so a ';' is text),
// no word longer than players read of one say.
func announceMsg(s string) string {
	if len(s) > maxAnnounce {
		return fmt.Sprintf("is %d bytes; at most %d", len(s), maxAnnounce)
	}
	if strings.TrimSpace(s) == "" {
		return "is empty"
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Sprintf("contains %q: the server's console keeps only printable ASCII", r)
		}
		if r == '"' {
			// The say is typed quoted (a ';' in it is text); a quote
			// would end that text early.
			return fmt.Sprintf("contains %q, which would end the say's quoted text early", r)
		}
	}
	// Said in says split between words, each at most what players read
	// of one (relay.SayCommands): a longer word cannot be said.
	for _, w := range strings.Fields(s) {
		if len(w) > maxSayWord {
			return fmt.Sprintf("has a word of %d bytes: players read %d bytes of a say", len(w), maxSayWord)
		}
	}
	return ""
}

// maxSayWord is the longest word a say can hold: what players read of one
// (CheckChatText in the game cuts at 127 bytes, the opening quote counted).
const maxSayWord = 126

// duration reads a Go duration ("1h", "90m"), as the CLI's --deadline.
func (p *parser) duration(v *yaml.Node, field string, lo, hi time.Duration) time.Duration {
	d, err := time.ParseDuration(v.Value)
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || err != nil {
		p.add(v, field, "must be a duration such as 30m or 1h, got %s", describe(v))
		return 0
	}
	if d < lo || d > hi {
		p.add(v, field, "%s is out of range %v..%v", quoteCut(v.Value), lo, hi)
		return 0
	}
	return d
}

func (p *parser) durations(v *yaml.Node, field string) []time.Duration {
	if v.Kind != yaml.SequenceNode {
		p.add(v, field, "must be a list of durations such as [10m, 5m, 1m], got %s", describe(v))
		return nil
	}
	if len(v.Content) > maxWarnings {
		p.add(v, field, "more than %d warnings", maxWarnings)
		return nil
	}
	out := []time.Duration{}
	for i, item := range v.Content {
		if d := p.duration(item, fmt.Sprintf("%s[%d]", field, i), time.Second, maxRestartDeadline); d > 0 {
			out = append(out, d)
		}
	}
	return out
}

// Backups is how many of an instance's backups are kept (backups:), by
// count and age, at every backup of it; the host's limits.yaml bounds both.
type Backups struct {
	Keep   int           // 0 = DefaultBackupKeep
	MaxAge time.Duration // 0 = DefaultBackupMaxAge

	pos map[string][2]int
}

// Retention defaults, as LinuxGSM's (maxbackups=4, maxbackupdays=30 in
// lgsm/config-default/config-lgsm/_default.cfg) but keeping a few more:
// reset and delete take one each.
const (
	DefaultBackupKeep   = 7
	DefaultBackupMaxAge = 30 * 24 * time.Hour
	maxBackupKeep       = 1000
	maxBackupMaxAge     = 10 * 366 * 24 * time.Hour
)

// Retention is what s keeps of its backups: its own, else the defaults,
// each within the host's ceilings (BindLimits).
func (b Backups) Retention() (keep int, maxAge time.Duration) {
	keep, maxAge = b.Keep, b.MaxAge
	if keep == 0 {
		keep = DefaultBackupKeep
	}
	if maxAge == 0 {
		maxAge = DefaultBackupMaxAge
	}
	return keep, maxAge
}

func (p *parser) backups(v *yaml.Node) Backups {
	var b Backups
	if v.Kind != yaml.MappingNode {
		p.add(v, "backups", "must be a mapping (keep:, max_age:), got %s", describe(v))
		return b
	}
	skip := p.duplicates(v, "backups.")
	b.pos = map[string][2]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		f := "backups." + k.Value
		if skip[i] {
			continue
		}
		b.pos[k.Value] = [2]int{val.Line, val.Column}
		switch k.Value {
		case "keep":
			b.Keep = p.intIn(val, f, 1, maxBackupKeep)
		case "max_age":
			b.MaxAge = p.duration(val, f, time.Hour, maxBackupMaxAge)
		default:
			p.unknownKey(k, f, KnownKeys()[BackupsKeys])
		}
	}
	return b
}

// checkLimits refuses a retention above the host's ceilings.
func (b Backups) checkLimits(file string, l Limits) error {
	var errs []error
	over := func(key, msg string) {
		pos := b.pos[key]
		errs = append(errs, &Error{File: file, Line: pos[0], Column: pos[1], Field: "backups." + key,
			Msg: msg + " (the host's ceiling, set in " + l.file + ")"})
	}
	if b.Keep > l.BackupKeep {
		over("keep", fmt.Sprintf("%d is above %d", b.Keep, l.BackupKeep))
	}
	if most, _ := time.ParseDuration(l.BackupMaxAge); b.MaxAge > most {
		over("max_age", fmt.Sprintf("%v is above %v", b.MaxAge, most))
	}
	return errors.Join(errs...)
}

// bindLimits makes a spec without a retention keep the defaults, or the
// ceilings where those are lower.
func (b *Backups) bindLimits(l Limits) {
	keep, maxAge := b.Retention()
	b.Keep = min(keep, l.BackupKeep)
	if most, err := time.ParseDuration(l.BackupMaxAge); err == nil {
		b.MaxAge = min(maxAge, most)
	}
}
