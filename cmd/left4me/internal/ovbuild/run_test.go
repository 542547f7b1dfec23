package ovbuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/tests/syncbuf"
)

// fakeSystemd writes stand-ins for systemd-run, journalctl and systemctl:
// journalctl prints journal (JSON lines) and follows on; systemd-run runs
// run (sh) after noting its process group; systemctl notes its arguments
// and says the unit is inactive; once it was called, journalctl prints
// stopped.
const stopped = `{"MESSAGE":"left4me-build-comp-20260101T000000Z.service: Deactivated successfully.","_PID":"1","MESSAGE_ID":"` + msgUnitSuccess + `"}` + "\n"

func fakeSystemd(t *testing.T, journal, run string) (Job, string) {
	t.Helper()
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, text := range map[string]string{"journal": journal, "journal-after-stop": stopped} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	builder := script("comp.sh", "exit 0")
	j := Job{
		Def: &Definition{Name: "comp", File: "/etc/left4me/overlays/comp.yaml", Builder: builder,
			Timeout: 3 * time.Second, Memory: "2G", Tasks: 512},
		ID:         "20260101T000000Z",
		Out:        &syncbuf.Buffer{},
		Journalctl: script("journalctl", "cat "+dir+"/journal\nuntil [ -e "+dir+"/systemctl ]; do sleep 0.05; done\ncat "+dir+"/journal-after-stop\nexec sleep 60"),
		SystemdRun: script("systemd-run", "cut -d' ' -f5 /proc/$$/stat > "+dir+"/pgrp\n"+run),
		Systemctl:  script("systemctl", "echo \"$@\" >> "+dir+"/systemctl\n[ \"$1\" = show ] && echo inactive\nexit 0"),
	}
	return j, dir
}

// PID 1's last line of the unit, as journalctl -o json gives it.
func endOfUnit(result string) string {
	id := msgUnitFailure
	if result == "success" {
		id = msgUnitSuccess
	}
	return `{"MESSAGE":"left4me-build-comp-20260101T000000Z.service: Failed with result '` + result + `'.","_PID":"1","MESSAGE_ID":"` + id + `","UNIT_RESULT":"` + result + `"}` + "\n"
}

// The builder's end is told as it was: its limits by name and where they
// are set, not as systemd-run's exit status, and recorded as its outcome
// (what `overlay status` shows), not as a failure of the builder's.
func TestRunSaysWhyTheBuildEnded(t *testing.T) {
	for _, tc := range []struct {
		name, journal, run string
		want               string // "" success
		outcome            Outcome
	}{
		{"success", `{"MESSAGE":"built","_PID":"7"}` + "\n" + endOfUnit("success"), "exit 0", "", Succeeded},
		{"timeout", `{"MESSAGE":"left4me-build-comp-20260101T000000Z.service: Service reached runtime time limit. Stopping.","_PID":"1"}` + "\n" + endOfUnit("timeout"),
			"exit 1", "the builder %B ran longer than its timeout (3s, timeout: in /etc/left4me/overlays/comp.yaml) and was stopped; its output: journalctl -u left4me-build-comp-20260101T000000Z.service", TimedOut},
		{"out of memory", endOfUnit("oom-kill"), "exit 1",
			"the builder %B used more memory than its limit (2G, memory_max: in /etc/left4me/overlays/comp.yaml) and was killed; its output: journalctl -u left4me-build-comp-20260101T000000Z.service", OutOfMemory},
		{"the builder's own failure", endOfUnit("exit-code"), "exit 3",
			"builder %B failed (systemd-run exit status 3); its output: journalctl -u left4me-build-comp-20260101T000000Z.service", Failed},
		{"a forged end is not PID 1's", `{"MESSAGE":"x","_PID":"7","MESSAGE_ID":"` + msgUnitFailure + `","UNIT_RESULT":"timeout"}` + "\n" + endOfUnit("exit-code"), "exit 1",
			"builder %B failed (systemd-run exit status 1); its output: journalctl -u left4me-build-comp-20260101T000000Z.service", Failed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, _ := fakeSystemd(t, tc.journal, tc.run)
			err := Store{Root: t.TempDir()}.Run(context.Background(), j)
			want := strings.ReplaceAll(tc.want, "%B", j.Def.Builder)
			switch {
			case want == "" && err != nil:
				t.Fatalf("Run: %v", err)
			case want != "" && (err == nil || err.Error() != want):
				t.Fatalf("Run: %v\nwant %s", err, want)
			case errors.Is(err, context.Canceled):
				t.Errorf("said interrupted: %v", err)
			}
			// As Build records it: wrapped with the overlay's name.
			if got := OutcomeOf(wrapAsBuild(err)); got != tc.outcome {
				t.Errorf("outcome %q, want %q", got, tc.outcome)
			}
		})
	}
}

// Ctrl-C: the build says it was interrupted (ctx's error, so the CLI
// exits 130 and sends no alert), the unit is stopped, and systemd-run
// runs in a process group of its own, out of the terminal's Ctrl-C.
func TestRunInterrupted(t *testing.T) {
	j, dir := fakeSystemd(t, `{"MESSAGE":"fetching","_PID":"7"}`+"\n", "exec sleep 60")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	began := time.Now()
	err := Store{Root: t.TempDir()}.Run(ctx, j)
	// The journal is followed on to the unit's end, which ends the wait.
	if out := j.Out.(*syncbuf.Buffer).String(); !strings.Contains(out, "systemd: left4me-build-comp-20260101T000000Z.service: Deactivated successfully.") || time.Since(began) > 2500*time.Millisecond {
		t.Errorf("after %v, the output:\n%s", time.Since(began), out)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	want := "interrupted before the builder " + j.Def.Builder + " finished; its unit left4me-build-comp-20260101T000000Z.service was stopped"
	if err.Error() != want {
		t.Errorf("Run: %v\nwant %s", err, want)
	}
	if got := OutcomeOf(wrapAsBuild(err)); got != Interrupted {
		t.Errorf("outcome %q, want %q", got, Interrupted)
	}
	if msg, code := fail.Interrupted(err); code != fail.CodeInterrupted || strings.Contains(msg, "failed") || strings.Contains(msg, "exit status") {
		t.Errorf("the CLI says %q, exit %d", msg, code)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "systemctl")); !strings.Contains(string(b), "stop left4me-build-comp-20260101T000000Z.service") {
		t.Errorf("the unit was not stopped; systemctl got: %q", b)
	}
	b, err := os.ReadFile(filepath.Join(dir, "pgrp"))
	if err != nil {
		t.Fatal(err)
	}
	if pg, _ := strconv.Atoi(strings.TrimSpace(string(b))); pg == syscall.Getpgrp() {
		t.Errorf("systemd-run shares our process group %d: the terminal's Ctrl-C would reach it", pg)
	}
}

// wrapAsBuild wraps Run's error as Build does before recording it.
func wrapAsBuild(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("overlay comp: %w; the current version is unchanged", err)
}

// A record written before outcomes were is read with one from its ok.
func TestLastResultOfAnOlderRecord(t *testing.T) {
	s := Store{Root: t.TempDir()}
	for _, tc := range []struct {
		record string
		want   Outcome
	}{
		{`{"id": "20260101T000000Z", "ok": true, "message": "switched in; first version"}`, Succeeded},
		{`{"id": "20260101T000000Z", "ok": false, "message": "builder failed"}`, Failed},
		{`{"id": "20260101T000000Z", "ok": false, "outcome": "interrupted", "message": "interrupted"}`, Interrupted},
	} {
		if err := os.MkdirAll(s.Dir("comp"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.Dir("comp"), lastBuild), []byte(tc.record), 0o644); err != nil {
			t.Fatal(err)
		}
		if r, ok := s.LastResult("comp"); !ok || r.Outcome != tc.want {
			t.Errorf("%s: outcome %q (ok %v), want %q", tc.record, r.Outcome, ok, tc.want)
		}
	}
}
