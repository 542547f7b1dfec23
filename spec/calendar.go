package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// Calendar checks a systemd calendar event (OnCalendar=, systemd.time(7))
// as systemd 252's src/shared/calendarspec.c parses and validates it
// (calendar_spec_from_string, then calendar_spec_normalize and
// calendar_spec_valid), in a subset: where that parser is lenient this is
// stricter, never the other way round, since the generator writes what a
// spec says into a timer and systemd must never refuse it. Left out on
// purpose: time zones other than a trailing " UTC" (tzname and the tz
// database differ by host), "@TIMESTAMP" (one moment, not a schedule),
// fractions of seconds, the old "Mon-Fri" range form and trailing commas
// after weekdays, shorthands in other than lower case, and any whitespace
// but single spaces between the parts. It returns "" when s is accepted,
// or what is wrong.
func Calendar(s string) string {
	if s == "" {
		return "is empty; want a calendar event such as daily or \"*-*-* 05:00\""
	}
	if len(s) > maxCalendar {
		return fmt.Sprintf("is %d bytes; a calendar event here has at most %d", len(s), maxCalendar)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return fmt.Sprintf("contains %q at character %d", rune(c), i+1)
		}
	}
	if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") || strings.Contains(s, "  ") {
		return "has leading, trailing or double spaces"
	}
	body := strings.TrimSuffix(s, " UTC") // calendar_spec_from_string: endswith " UTC"
	switch body {
	// The shorthands of calendar_spec_from_string.
	case "minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually",
		"quarterly", "semiannually", "biannually", "semi-annually", "bi-annually":
		return ""
	}
	c := calParser{s: body}
	if err := c.parse(); err != "" {
		// systemd takes a time zone last (Europe/Berlin); this check
		// takes UTC alone, so say that rather than where parsing stopped.
		if i := strings.LastIndexByte(body, ' '); i > 0 && strings.ContainsAny(body[i+1:], "/ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			if rest := (calParser{s: body[:i]}); rest.parse() == "" {
				return fmt.Sprintf("ends in the time zone %q: only UTC is taken here (\"%s UTC\"), or no zone for the host's local time", body[i+1:], body[:i])
			}
		}
		return err
	}
	return ""
}

// maxCalendar bounds an event's length; systemd bounds each chain at 240
// items (CALENDARSPEC_COMPONENTS_MAX), which this is well within.
const maxCalendar = 200

// calParser walks one event: [WEEKDAYS ][DATE ][TIME].
type calParser struct {
	s string
	i int
}

func (c *calParser) rest() string { return c.s[c.i:] }

func (c *calParser) errf(format string, args ...any) string {
	at := ""
	if c.i < len(c.s) {
		at = fmt.Sprintf(" (at character %d, %q)", c.i+1, c.s[c.i:])
	}
	return fmt.Sprintf(format, args...) + at + "; see systemd.time(7), e.g. daily, \"*-*-* 05:00\" or \"Mon..Fri 04:30\""
}

func (c *calParser) parse() string {
	if err := c.weekdays(); err != "" {
		return err
	}
	if c.i == len(c.s) {
		return "" // weekdays alone: at 00:00:00 on those days
	}
	time, err := c.date()
	if err != "" {
		return err
	}
	if time {
		if err := c.time(); err != "" {
			return err
		}
	}
	if c.i != len(c.s) {
		return c.errf("unexpected text")
	}
	return ""
}

var weekdayNames = [7][2]string{
	{"monday", "mon"}, {"tuesday", "tue"}, {"wednesday", "wed"}, {"thursday", "thu"},
	{"friday", "fri"}, {"saturday", "sat"}, {"sunday", "sun"},
}

// weekday reads a day's name at c.i as parse_weekdays does (the long name
// first, any case), or returns -1 without moving.
func (c *calParser) weekday() int {
	low := strings.ToLower(c.rest())
	for n, names := range weekdayNames {
		for _, name := range names {
			if strings.HasPrefix(low, name) {
				c.i += len(name)
				return n
			}
		}
	}
	return -1
}

// weekdays reads an optional list of days and day ranges (Mon,Wed..Fri)
// followed by a space or the end.
func (c *calParser) weekdays() string {
	start := c.i
	if c.weekday() < 0 {
		return "" // parse_weekdays: no day named, the date follows
	}
	c.i = start
	for {
		from := c.weekday()
		if from < 0 {
			return c.errf("expected a day of the week (Mon..Sun)")
		}
		if strings.HasPrefix(c.rest(), "..") {
			c.i += 2
			to := c.weekday()
			if to < 0 {
				return c.errf("expected the day that ends the range")
			}
			if to < from {
				return c.errf("a range of days runs forward, Mon to Sun")
			}
		}
		switch {
		case c.i == len(c.s):
			return ""
		case c.s[c.i] == ' ':
			c.i++
			if c.i == len(c.s) {
				return c.errf("trailing space")
			}
			return ""
		case c.s[c.i] == ',':
			c.i++
		default:
			return c.errf("expected \",\", \"..\" or a space after a day")
		}
	}
}

// component is one item of a chain: start[..stop][/repeat], stop -1 when
// none (CalendarComponent).
type component struct{ start, stop, repeat int }

// chain reads "*" (nil, any value) or a list of components, as parse_chain
// and prepend_component do, for whole numbers only.
func (c *calParser) chain() ([]component, bool, string) {
	if strings.HasPrefix(c.rest(), "*") {
		c.i++
		return nil, true, ""
	}
	var out []component
	for {
		var cc component
		var err string
		if cc.start, err = c.number(); err != "" {
			return nil, false, err
		}
		cc.stop = -1
		if strings.HasPrefix(c.rest(), "..") {
			c.i += 2
			if cc.stop, err = c.number(); err != "" {
				return nil, false, err
			}
			cc.repeat = 1
		}
		if strings.HasPrefix(c.rest(), "/") {
			c.i++
			if cc.repeat, err = c.number(); err != "" {
				return nil, false, err
			}
			if cc.repeat == 0 {
				return nil, false, c.errf("a repetition of 0")
			}
		}
		out = append(out, cc)
		if len(out) > 64 {
			return nil, false, c.errf("more than 64 values in one field")
		}
		if !strings.HasPrefix(c.rest(), ",") {
			return out, false, ""
		}
		c.i++
	}
}

// number reads a whole number of at most 4 digits (years are the longest;
// parse_component_decimal takes digits only, no sign).
func (c *calParser) number() (int, string) {
	j := c.i
	for j < len(c.s) && j-c.i < 5 && c.s[j] >= '0' && c.s[j] <= '9' {
		j++
	}
	if j == c.i {
		return 0, c.errf("expected a number")
	}
	if j-c.i > 4 {
		return 0, c.errf("a number of more than 4 digits")
	}
	n, _ := strconv.Atoi(c.s[c.i:j])
	c.i = j
	return n, ""
}

// date reads an optional [YEAR-]MONTH-DAY (or ~DAY, counted from the end
// of the month) and the space after it, as parse_date does. It reports
// whether a time follows (always, but for a date at the end).
func (c *calParser) date() (bool, string) {
	start := c.i
	first, _, err := c.chain()
	if err != "" {
		return false, err
	}
	if c.i == len(c.s) || c.s[c.i] == ':' {
		c.i = start // it was the hour
		return true, ""
	}
	parts := [][]component{first}
	eom := false
	for len(parts) < 3 {
		switch {
		case c.i < len(c.s) && c.s[c.i] == '~':
			if eom {
				return false, c.errf("\"~\" given twice")
			}
			eom = true
		case c.i < len(c.s) && c.s[c.i] == '-':
		default:
			return false, c.errf("expected \"-\" or \"~\" in the date")
		}
		c.i++
		p, _, err := c.chain()
		if err != "" {
			return false, err
		}
		parts = append(parts, p)
		if c.i == len(c.s) || c.s[c.i] == ' ' {
			break
		}
		if eom {
			// parse_date: after YEAR~MONTH no day may follow.
			return false, c.errf("\"~\" goes between month and day")
		}
	}
	if c.i < len(c.s) && c.s[c.i] != ' ' {
		return false, c.errf("expected a space after the date")
	}
	var year, month, day []component
	if len(parts) == 2 {
		month, day = parts[0], parts[1]
	} else {
		year, month, day = parts[0], parts[1], parts[2]
		for k := range year { // fix_year: 12 is 2012, 89 is 1989
			year[k].start, year[k].stop = fixYear(year[k].start), fixYear(year[k].stop)
		}
	}
	if err := checkChain("year", year, 1970, 2199, false); err != "" {
		return false, err
	}
	if err := checkChain("month", month, 1, 12, false); err != "" {
		return false, err
	}
	if err := checkChain("day", day, 1, 31, eom && day != nil); err != "" {
		return false, err
	}
	if c.i == len(c.s) {
		return false, "" // a date alone: at 00:00:00
	}
	c.i++ // the space
	if c.i == len(c.s) {
		return false, c.errf("trailing space")
	}
	return true, ""
}

func fixYear(y int) int {
	switch {
	case y >= 0 && y < 70:
		return y + 2000
	case y >= 70 && y < 100:
		return y + 1900
	}
	return y
}

// time reads HOUR:MINUTE[:SECOND] to the end, as parse_calendar_time does.
func (c *calParser) time() string {
	var fields [3][]component
	names := [3]string{"hour", "minute", "second"}
	for k := 0; k < 3; k++ {
		if k > 0 {
			if c.i == len(c.s) && k == 2 {
				break // no seconds: 0
			}
			if c.i == len(c.s) || c.s[c.i] != ':' {
				return c.errf("expected \":\" in the time (HH:MM or HH:MM:SS)")
			}
			c.i++
		}
		var err string
		if fields[k], _, err = c.chain(); err != "" {
			return err
		}
		if c.i < len(c.s) && c.s[c.i] == '.' {
			return c.errf("fractions of a second are not taken here")
		}
	}
	if c.i != len(c.s) {
		return c.errf("unexpected text after the time")
	}
	limits := [3]int{23, 59, 59}
	for k := range fields {
		if err := checkChain(names[k], fields[k], 0, limits[k], false); err != "" {
			return err
		}
	}
	return ""
}

// checkChain is chain_valid: every start (and stop) within from..to (to
// three less counted from the end of the month), a repetition that fits
// at least once, a range that runs forward and holds one repetition.
func checkChain(field string, cs []component, from, to int, endOfMonth bool) string {
	if endOfMonth {
		to -= 3
	}
	for _, cc := range cs {
		bad := func(why string) string {
			return fmt.Sprintf("%s %s: %s; see systemd.time(7)", field, formatComponent(cc), why)
		}
		if cc.start < from || cc.start > to {
			return bad(fmt.Sprintf("out of range %d..%d", from, to))
		}
		if cc.repeat > to-from {
			return bad("repeats less often than once in the range")
		}
		switch {
		case cc.stop >= 0:
			if cc.stop < from || cc.stop > to {
				return bad(fmt.Sprintf("out of range %d..%d", from, to))
			}
			if cc.start+cc.repeat > cc.stop {
				return bad("the range must run forward and hold more than one value")
			}
		case endOfMonth && cc.start-cc.repeat < from:
			return bad("the repetition does not fit before the month's end")
		case !endOfMonth && cc.start+cc.repeat > to:
			return bad("the repetition does not fit in the range")
		}
	}
	return ""
}

func formatComponent(cc component) string {
	s := strconv.Itoa(cc.start)
	if cc.stop >= 0 {
		s += ".." + strconv.Itoa(cc.stop)
		if cc.repeat > 1 {
			s += "/" + strconv.Itoa(cc.repeat)
		}
	} else if cc.repeat > 0 {
		s += "/" + strconv.Itoa(cc.repeat)
	}
	return s
}
