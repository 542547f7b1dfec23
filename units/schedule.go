package units

import (
	"sort"

	"github.com/left4me/left4me/spec"
)

// The timers of an instance's schedule: (spec.Schedule). Each starts the
// instance of a static template of the same name
// (left4me-restart@.service, left4me-backup@.service).
const (
	RestartTimer = "left4me-restart@"
	BackupTimer  = "left4me-backup@"
	// ScheduleDropIn, beside DropIn, makes the server's unit want its
	// timers.
	ScheduleDropIn = "60-left4me-schedule.conf"
)

// Timers are the timer units of s's schedule, name to text. They run
// while the server does: its unit wants them (ScheduleDropIn) and they
// are part of it (PartOf=), not of timers.target. A restart timer of a
// stopped server would start it, which the operator stopped; a backup
// timer would copy an unchanged tree over and over, and its copies would
// push the older, different backups out of the retention count.
func Timers(c Config, name string, s *spec.Spec) map[string][]byte {
	if s.Schedule.Restart == "" && s.Schedule.Backup == "" {
		return nil // most specs: nothing allocated at boot
	}
	out := map[string][]byte{}
	if ev := s.Schedule.Restart; ev != "" {
		// No Persistent=: a restart missed while the server was down is
		// moot, its start was a fresh one. No random delay: the operator
		// chose the time (the players may be told it), and the restart
		// waits for the server to empty anyway.
		out[RestartTimer+name+".timer"] = timer(c, name, "Scheduled restart of Left 4 Dead 2 server "+name,
			"OnCalendar="+ev+"\nAccuracySec=1s\n")
	}
	if ev := s.Schedule.Backup; ev != "" {
		// Persistent=: a backup missed while the host or the server was
		// down is taken when it runs again, as the operator counts on
		// one per period. A random delay, fixed per instance
		// (FixedRandomDelay=, systemd 247): servers scheduled alike
		// ("daily") do not all read their disks at once, and each still
		// backs up at the same time every day.
		out[BackupTimer+name+".timer"] = timer(c, name, "Scheduled backup of Left 4 Dead 2 server "+name,
			"OnCalendar="+ev+"\nPersistent=true\nRandomizedDelaySec=15min\nFixedRandomDelay=true\n")
	}
	return out
}

func timer(c Config, name, desc, body string) []byte {
	return []byte(header + "[Unit]\nDescription=" + desc + "\nSourcePath=" + c.Layout.SpecPath(name) +
		"\nPartOf=" + Instance(name) + "\n\n[Timer]\n" + body)
}

// RenderScheduleDropIn is l4d2@NAME.service.d/ScheduleDropIn for the
// timers (names of Timers), nil when there are none.
func RenderScheduleDropIn(timers map[string][]byte) []byte {
	if len(timers) == 0 {
		return nil
	}
	names := make([]string, 0, len(timers))
	for n := range timers {
		names = append(names, n)
	}
	sort.Strings(names)
	b := []byte(header + "[Unit]\n")
	for _, n := range names {
		b = append(b, "Wants="+n+"\n"...)
	}
	return b
}
