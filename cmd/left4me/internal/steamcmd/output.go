package steamcmd

import (
	"regexp"
	"strconv"
	"strings"
)

// Progress is one " Update state (0x61) downloading, progress: 45.03
// (4115582838 / 9139527925)" line.
type Progress struct {
	State   string  // "downloading", "verifying install", ...
	Percent float64 // 0..100
	Done    int64   // bytes
	Total   int64
}

var progressRE = regexp.MustCompile(`Update state \(0x[0-9a-fA-F]+\) ([^,]+), progress: ([0-9.]+) \(([0-9]+) / ([0-9]+)\)`)

// ParseProgress recognises a progress line.
func ParseProgress(line string) (Progress, bool) {
	m := progressRE.FindStringSubmatch(line)
	if m == nil {
		return Progress{}, false
	}
	pct, err1 := strconv.ParseFloat(m[2], 64)
	done, err2 := strconv.ParseInt(m[3], 10, 64)
	total, err3 := strconv.ParseInt(m[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Progress{}, false
	}
	return Progress{State: strings.TrimSpace(m[1]), Percent: min(max(pct, 0), 100), Done: done, Total: total}, true
}

// Result sums up what steamcmd printed. Its exit status alone cannot be
// trusted: it has exited 0 after failed downloads.
type Result struct {
	// Success is "Success! App '222860' fully installed." with no failure
	// after it: the windows pass of the workaround succeeds before the
	// linux pass may fail.
	Success         bool
	Errors          []string // lines that report a failure, in order
	InvalidPlatform bool     // the anonymous-Linux failure of 222860
	// SteamGuard: the login needs a Steam Guard code (e-mail or mobile)
	// that nobody could type.
	SteamGuard bool
	// State is the last "Error! App '222860' state is 0xNNN after update
	// job." state, lower case; "" when none was printed.
	State string
	// NoSubscription: "ERROR! Failed to install app '222860' (No
	// subscription)", the account has no license for the app.
	NoSubscription bool
}

// stateRE matches both forms steamcmd prints: "Error! App '222860' state
// is 0x602 after update job." and, as LinuxGSM-Docs' steamcmd/errors.md
// quotes it, "Error! State is 0x402 after update job.".
var stateRE = regexp.MustCompile(`(?i)state is (0x[0-9a-f]+) after update job`)

// Transient reports a failure that a second run of the same job may get
// past: the download stopped before it completed. LinuxGSM's core_dl.sh
// retries on 0x402 and 0x602 ("Update required but not completed - check
// network"), up to ten times. 0x606, 0x626 and 0x6A6 are retried as issue
// 24 asks, from operators' reports (LinuxGSM-Docs' steamcmd/errors.md
// calls 0x606 a disk write failure: a retry costs little and the last
// run's message still names the state).
func (r *Result) Transient() bool {
	switch r.State {
	case "0x402", "0x602", "0x606", "0x626", "0x6a6":
		return true
	}
	return false
}

// DiskFull reports steamcmd's "not enough disk space" states: LinuxGSM's
// core_dl.sh stops at once on 0x202 and 0x212 ("Not enough disk space to
// download server files").
func (r *Result) DiskFull() bool { return r.State == "0x202" || r.State == "0x212" }

// Observe updates r with one output line.
func (r *Result) Observe(line string) {
	l := strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(l, "Success! App '"+strconv.Itoa(AppID)+"'"):
		r.Success = true
	case isError(l):
		r.Success = false
		r.Errors = append(r.Errors, l)
		if strings.Contains(l, "Invalid platform") {
			r.InvalidPlatform = true
		}
		if strings.Contains(l, "No subscription") {
			r.NoSubscription = true
		}
		if m := stateRE.FindStringSubmatch(l); m != nil {
			r.State = strings.ToLower(m[1])
		}
		if strings.HasPrefix(l, "Steam Guard code:") || strings.HasPrefix(l, "Two-factor code:") {
			r.SteamGuard = true
		}
	}
}

// isError matches steamcmd's failure lines: "ERROR! Failed to install app
// '222860' (Invalid platform)", "Error! App '222860' state is 0x202 after
// update job.", "FAILED (Invalid Password)", "Login Failure: ...", and the
// prompts that failed for want of an answer, "Steam Guard code:FAILED
// (Account Logon Denied)", "Two-factor code:FAILED (...)".
func isError(l string) bool {
	for _, p := range []string{"ERROR!", "Error!", "FAILED", "Login Failure", "Failed to"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return strings.Contains(l, "...FAILED") || strings.Contains(l, ":FAILED (")
}

// Summary is the error text for a failed run.
func (r *Result) Summary() string {
	if len(r.Errors) == 0 {
		return "steamcmd did not report success"
	}
	s := strings.Join(r.Errors, "; ")
	if r.SteamGuard {
		s += "; the account has Steam Guard: log in once by hand with its current code, e.g. left4me game update --login ACCOUNT --guard-code CODE (steamcmd then keeps the login)"
	}
	return s
}
