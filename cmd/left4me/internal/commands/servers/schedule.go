package servers

import (
	"context"
	"fmt"
	"strings"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/units"
)

// scheduleJSON is an instance's schedule: as status --json prints it.
type scheduleJSON struct {
	Restart         string `json:"restart,omitempty"`
	RestartDeadline string `json:"restart_deadline,omitempty"`
	RestartForce    bool   `json:"restart_force,omitempty"`
	RestartTimer    string `json:"restart_timer,omitempty"` // its timer's state
	Backup          string `json:"backup,omitempty"`
	BackupTimer     string `json:"backup_timer,omitempty"`
}

// schedule describes name's schedule and the state of its timers, which
// run only while the server does (they are its unit's wants).
func (e *Env) schedule(ctx context.Context, name string, sc spec.Schedule) (*scheduleJSON, string) {
	if sc.Restart == "" && sc.Backup == "" {
		return nil, ""
	}
	j := &scheduleJSON{Restart: sc.Restart, Backup: sc.Backup}
	timers := e.timerStates(ctx, name)
	var parts []string
	if sc.Restart != "" {
		j.RestartDeadline, j.RestartForce = sc.RestartDeadline.String(), sc.RestartForce
		j.RestartTimer = timers[units.RestartTimer+name+".timer"]
		then := "then left running until the next one"
		if sc.RestartForce {
			then = "then anyway, after warning the players"
		}
		parts = append(parts, fmt.Sprintf("restart %q when empty, within %v, %s (timer %s)", sc.Restart, sc.RestartDeadline, then, j.RestartTimer))
	}
	if sc.Backup != "" {
		j.BackupTimer = timers[units.BackupTimer+name+".timer"]
		parts = append(parts, fmt.Sprintf("backup %q (timer %s)", sc.Backup, j.BackupTimer))
	}
	return j, strings.Join(parts, "; ")
}

// timerStates are the active states of name's schedule timers; "unknown"
// without systemd.
func (e *Env) timerStates(ctx context.Context, name string) map[string]string {
	names := []string{units.RestartTimer + name + ".timer", units.BackupTimer + name + ".timer"}
	out := map[string]string{names[0]: "unknown", names[1]: "unknown"}
	sd, err := e.Connect(ctx)
	if err != nil {
		return out
	}
	defer sd.Close()
	ctx, cancel := context.WithTimeout(ctx, clienv.ConnectTimeout)
	defer cancel()
	us, err := sd.Units(ctx, names)
	if err != nil {
		return out
	}
	for _, u := range us {
		out[u.Name] = u.ActiveState
	}
	return out
}
