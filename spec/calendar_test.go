package spec

import (
	"math/rand"
	"os/exec"
	"strings"
	"testing"
)

// calendarCases are calendar events and whether a spec may hold them; each
// accepted one systemd must accept too. Those marked strict systemd takes
// but a spec does not (see Calendar).
var calendarCases = []struct {
	s      string
	ok     bool
	strict bool // refused here, accepted by systemd
}{
	{"daily", true, false},
	{"weekly", true, false},
	{"hourly UTC", true, false},
	{"semi-annually", true, false},
	{"*-*-* 05:00", true, false},
	{"*-*-* 05:00:00", true, false},
	{"*-*-* 05:00 UTC", true, false},
	{"05:00", true, false},
	{"*:0/15", true, false},
	{"*:00,30", true, false},
	{"Mon..Fri 04:30", true, false},
	{"Mon,Wed,Fri *-*-* 03:15", true, false},
	{"sat,sun 06:00", true, false},
	{"Saturday", true, false},
	{"Mon", true, false},
	{"2030-01-01", true, false},
	{"30-01-01 12:00", true, false},
	{"*-*~1 04:00", true, false},
	{"*-02~03", true, false},
	{"*-*-1..7 05:00", true, false},
	{"*-*-1/7 05:00", true, false},
	{"*-1,4,7,10-1 00:00", true, false},
	{"12-24 18:00", true, false},
	{"0..23/6:00", true, false},
	{"*-*-* 0/23:00", true, false},
	{"*-*-* 5:0:0/59", true, false},

	{"", false, false},
	{"never", false, false},
	{"05", false, false},
	{"25:00", false, false},
	{"*-*-* 05:60", false, false},
	{"*-*-* 05:00:60", false, false},
	{"*-13-01", false, false},
	{"*-*-32", false, false},
	{"*-*-0", false, false},
	{"Fri..Mon", false, false},
	{"Mon..", false, false},
	{"Mo 05:00", false, false},
	{"Monx", false, false},
	{"*-*-* 0/24:00", false, false},
	{"*-*-* 5..3:00", false, false},
	{"*-*-* 0/0:00", false, false},
	{"*-*~29", false, false},
	{"*-*~1/2", false, false},
	{"*~02-03", false, false},
	{"1969-01-01", false, false},
	{"2200-01-01", false, false},
	{"*-*-*:00", false, false},
	{"*/2:00", false, false},
	{"05:00 daily", false, false},
	{"daily\n", false, false},
	{"-1:00", false, false},
	{"+5:00", false, false},
	{"*-*-* 05:00:00:00", false, false},
	{"2030-01-01-01", false, false},

	// systemd takes these; a spec does not (Calendar's doc says why).
	{"Daily", false, true},
	{"*-*-* 05:00:00.5", false, true},
	{"Mon-Fri 05:00", false, true},
	{"Mon, 05:00", false, true},
	{"@1700000000", false, true},
	{"*-*-* 05:00 Europe/Berlin", false, true},
	{"*-*-*  05:00", false, true},
	{" daily", false, false},
	{"*-*-* 5..5:00", false, true},
	{"*-*-* 00005:00", false, true},
}

func TestCalendar(t *testing.T) {
	for _, c := range calendarCases {
		msg := Calendar(c.s)
		if (msg == "") != c.ok {
			t.Errorf("Calendar(%q) = %q, want ok=%v", c.s, msg, c.ok)
		}
		if !c.ok && !strings.Contains(msg, " ") {
			t.Errorf("Calendar(%q): no explanation: %q", c.s, msg)
		}
	}
}

// TestCalendarSystemd asks the host's systemd-analyze calendar about every
// case: what Calendar accepts it must accept (the generator writes it
// into a timer), and the cases marked strict it must accept too, so the
// table shows where this is stricter than systemd rather than guessing.
func TestCalendarSystemd(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	for _, c := range calendarCases {
		if c.s == "" || strings.ContainsAny(c.s, "\n") {
			continue // not an argument systemd-analyze reads as one event
		}
		out, err := exec.Command(analyze, "calendar", c.s).CombinedOutput()
		systemdOK := err == nil
		if (c.ok || c.strict) && !systemdOK {
			t.Errorf("%q: systemd refuses what the table says it takes:\n%s", c.s, out)
		}
		if !c.ok && !c.strict && systemdOK {
			t.Errorf("%q: systemd takes it; mark it strict or accept it", c.s)
		}
	}
}

// TestCalendarSystemdRandom puts a few thousand events made of the
// grammar's own pieces (most of them wrong somewhere) to Calendar and to
// systemd-analyze at once: none that Calendar accepts may systemd refuse.
func TestCalendarSystemdRandom(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze")
	}
	rng := rand.New(rand.NewSource(27))
	pick := func(xs ...string) string { return xs[rng.Intn(len(xs))] }
	num := func() string {
		return pick("0", "1", "2", "3", "5", "7", "12", "13", "23", "24", "28", "29", "30", "31", "32", "59", "60", "69", "70", "99", "1969", "2030", "2199", "2200")
	}
	item := func() string {
		s := num()
		if rng.Intn(3) == 0 {
			s += ".." + num()
		}
		if rng.Intn(3) == 0 {
			s += "/" + num()
		}
		return s
	}
	chain := func() string {
		if rng.Intn(3) == 0 {
			return "*"
		}
		s := item()
		for rng.Intn(3) == 0 {
			s += "," + item()
		}
		return s
	}
	day := func() string { return pick("Mon", "tue", "Wednesday", "Thu", "fri", "Sat", "Sunday") }
	var args []string
	accepted := map[string]bool{}
	for len(args) < 3000 {
		var parts []string
		if rng.Intn(3) == 0 {
			w := day()
			for rng.Intn(3) == 0 {
				w += pick(",", "..") + day()
			}
			parts = append(parts, w)
		}
		if rng.Intn(2) == 0 {
			d := chain() + pick("-", "~") + chain()
			if rng.Intn(2) == 0 {
				d = chain() + pick("-", "-", "~") + d
			}
			parts = append(parts, d)
		}
		if rng.Intn(4) != 0 {
			tm := chain() + ":" + chain()
			if rng.Intn(2) == 0 {
				tm += ":" + chain()
			}
			parts = append(parts, tm)
		}
		if rng.Intn(5) == 0 {
			parts = append(parts, "UTC")
		}
		s := strings.Join(parts, " ")
		if s == "" {
			continue
		}
		args = append(args, s)
		if Calendar(s) == "" {
			accepted[s] = true
		}
	}
	out, _ := exec.Command(analyze, append([]string{"calendar", "--"}, args...)...).CombinedOutput()
	refused := 0
	for _, line := range strings.Split(string(out), "\n") {
		s, ok := strings.CutPrefix(line, "Failed to parse calendar specification '")
		if !ok {
			continue
		}
		refused++
		s = s[:strings.LastIndex(s, "': ")]
		if accepted[s] {
			t.Errorf("%q: accepted here, refused by systemd", s)
		}
	}
	if refused == 0 || len(accepted) == 0 {
		t.Fatalf("no contrast: %d refused by systemd, %d accepted here", refused, len(accepted))
	}
	t.Logf("%d events: %d accepted here, %d refused by systemd", len(args), len(accepted), refused)
}

func FuzzCalendar(f *testing.F) {
	for _, c := range calendarCases {
		f.Add(c.s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Calendar(s) == "" && strings.ContainsAny(s, "\n%\"\\") {
			t.Fatalf("accepted %q", s)
		}
	})
}
