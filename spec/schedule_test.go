package spec

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	s, err := Parse("a.yaml", []byte(`port: 27015
schedule:
  restart: "Mon..Fri *-*-* 05:00"
  restart_deadline: 30m
  restart_warn_at: [5m, 1m]
  restart_announce: "Restart in %s; sorry"
  backup: daily
backups: {keep: 14, max_age: 720h}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Schedule{Restart: "Mon..Fri *-*-* 05:00", RestartDeadline: 30 * time.Minute, RestartForce: true,
		RestartWarnAt: []time.Duration{5 * time.Minute, time.Minute}, RestartAnnounce: "Restart in %s; sorry", Backup: "daily"}
	if !reflect.DeepEqual(s.Schedule, want) {
		t.Errorf("schedule %+v, want %+v", s.Schedule, want)
	}
	if k, a := s.Backups.Retention(); k != 14 || a != 720*time.Hour {
		t.Errorf("retention %d %v", k, a)
	}
	s, err = Parse("a.yaml", []byte("port: 27015\nschedule: {restart: daily}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Schedule.RestartDeadline != time.Hour || !s.Schedule.RestartForce || len(s.Schedule.RestartWarnAt) != 3 {
		t.Errorf("defaults: %+v", s.Schedule)
	}
	if k, a := s.Backups.Retention(); k != DefaultBackupKeep || a != DefaultBackupMaxAge {
		t.Errorf("default retention %d %v", k, a)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"schedule:\n  restart: \"*-*-* 25:00\"\n", `a.yaml:3:12: schedule.restart: "*-*-* 25:00" is not a calendar event systemd takes: hour 25: out of range 0..23`},
		{"schedule:\n  backup: never\n", `a.yaml:3:11: schedule.backup: "never" is not a calendar event systemd takes`},
		{"schedule:\n  restart: \"*-*-* 05:00 Europe/Berlin\"\n", `a.yaml:3:12: schedule.restart: "*-*-* 05:00 Europe/Berlin" is not a calendar event systemd takes: ends in the time zone "Europe/Berlin": only UTC is taken here ("*-*-* 05:00 UTC"), or no zone for the host's local time`},
		{"schedule: {backup: daily, restart_deadline: 1h}\n", "a.yaml:2:27: schedule.restart_deadline: only means something with schedule.restart"},
		{"schedule: {restart: daily, restart_force: false, restart_warn_at: [1m]}\n", "a.yaml:2:50: schedule.restart_warn_at: goes with restart_force: true"},
		{"schedule: {restart: daily, restart_deadline: 0s}\n", "a.yaml:2:28: schedule.restart_deadline: 0 with restart_force"},
		{"schedule: {restart: daily, restart_deadline: 2d}\n", "a.yaml:2:46: schedule.restart_deadline: must be a duration such as 30m or 1h"},
		{"schedule: {restart: daily, restart_announce: 'say \"x\"'}\n", "a.yaml:2:46: schedule.restart_announce: \"say \\\"x\\\"\" contains '\"'"},
		{"schedule: {restart: daily, restart_announce: \"see https://example.org/" + strings.Repeat("x", 130) + "\"}\n", "has a word of 150 bytes: players read 126 bytes of a say"},
		{"schedule: {restart: daily, restrat: 1}\n", "a.yaml:2:28: schedule.restrat: unknown key; did you mean restart?"},
		{"schedule: daily\n", "a.yaml:2:11: schedule: must be a mapping"},
		{"backups: {keep: 0}\n", "a.yaml:2:17: backups.keep: must be a whole number 1..1000"},
		{"backups: {max_age: 1m}\n", "a.yaml:2:20: backups.max_age: \"1m\" is out of range 1h0m0s.."},
	} {
		_, err := Parse("a.yaml", []byte("port: 27015\n"+c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.src, err, c.want)
		}
	}
	// A deadline that is no duration is said once, not also as a 0 with
	// restart_force (operator review).
	_, err := Parse("a.yaml", []byte("port: 27015\nschedule: {restart: daily, restart_deadline: 1d}\n"))
	if err == nil || strings.Contains(err.Error(), "0 with restart_force") {
		t.Errorf("restart_deadline: 1d: %v", err)
	}
}

func TestBackupLimits(t *testing.T) {
	s, err := Parse("b.yaml", []byte("port: 27015\nbackups:\n  keep: 500\n  max_age: 87600h\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := DefaultLimits()
	l.file = "limits.yaml"
	err = s.CheckLimits("b.yaml", l)
	for _, want := range []string{"b.yaml:3:9: backups.keep: 500 is above 30", "b.yaml:4:12: backups.max_age: 87600h0m0s is above 2160h0m0s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lacks %q: %v", want, err)
		}
	}
	s, _ = Parse("b.yaml", []byte("port: 27015\n"))
	l.BackupKeep, l.BackupMaxAge = 3, "48h"
	s.BindLimits(l)
	if k, a := s.Backups.Retention(); k != 3 || a != 48*time.Hour {
		t.Errorf("bound retention %d %v", k, a)
	}
}
