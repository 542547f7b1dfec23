package servers

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/fleet"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
	"github.com/left4me/left4me/spec/layout"
)

// fleetHelp is the part of list's, status's and players's help about
// --host.
const fleetHelp = `With --host (repeatable), the same command runs on each host over ssh, all
at once (the operator's ssh: ~/.ssh/config, keys and agent apply; the
remote side runs left4me ... --json and must be allowed to read the specs,
so log in as root), and one table with a HOST column shows them all. A
host that does not answer within the timeout is a row saying unreachable
and why; the others are shown all the same. A host whose answer passes
4 MiB is cut off there and shown as "answer too large". Exits 1 when a host
was unreachable or its command failed there, after printing every row.`

func hostFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "host", Usage: "run it on `HOST` over ssh instead of here (repeat for more hosts)"},
		&cli.DurationFlag{Name: "host-timeout", Value: fleet.DefaultTimeout, Usage: "with --host: give up on a host after this long"},
	}
}

// HostAnswer is one host's answer, as `--host ... --json` prints it.
type HostAnswer struct {
	Host        string `json:"host"`
	Unreachable string `json:"unreachable,omitempty"` // why the host was not reached
	Error       string `json:"error,omitempty"`       // the command failed there: its message
	// TooLarge: its answer passed fleet.MaxAnswer and was refused.
	TooLarge bool `json:"too_large,omitempty"`
	Exit     int  `json:"exit"` // of left4me there
	// Result is what `left4me ... --json` printed there.
	Result json.RawMessage `json:"result,omitempty"`
}

// ask runs `left4me ARGS... --json` on every host of --host at once; an
// answer that is not JSON is an error of that host.
func (e *Env) ask(c *cli.Context, args ...string) []HostAnswer {
	hosts := c.StringSlice("host")
	ssh := e.SSH
	if ssh == "" {
		ssh = "ssh"
	}
	res := fleet.Run(c.Context, fleet.Options{SSH: ssh, Timeout: c.Duration("host-timeout")}, hosts,
		append(append([]string{"left4me"}, args...), "--json")...)
	out := make([]HostAnswer, len(res))
	for i, r := range res {
		a := HostAnswer{Host: r.Host, Unreachable: r.Unreachable, Exit: r.Exit, TooLarge: r.TooLarge}
		if r.TooLarge {
			a.Error = fmt.Sprintf("its answer passed %d MiB; cut off there and ignored", fleet.MaxAnswer>>20)
		} else if a.Unreachable == "" {
			if json.Valid(r.Stdout) && len(strings.TrimSpace(string(r.Stdout))) > 0 {
				a.Result = json.RawMessage(r.Stdout)
			} else {
				a.Error = firstLine(r.Stderr)
				if a.Error == "" {
					a.Error = fmt.Sprintf("left4me exited %d without an answer", r.Exit)
				}
			}
		}
		out[i] = a
	}
	return out
}

// printAnswers prints the answers as JSON (--json --host).
func (e *Env) printAnswers(as []HostAnswer) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(as)
}

// hostsErr is the outcome for the exit code: every host answered, or
// which could not be reached and which answered with an error (an
// unknown instance, a left4me too old for --json).
func hostsErr(as []HostAnswer) error {
	var down, failed []string
	for _, a := range as {
		switch {
		case a.Unreachable != "":
			down = append(down, termsafe.Line(a.Host))
		case a.Error != "":
			failed = append(failed, termsafe.Line(a.Host))
		}
	}
	var why []string
	if len(down) > 0 {
		why = append(why, "unreachable: "+strings.Join(down, ", "))
	}
	if len(failed) > 0 {
		why = append(why, "answered with an error: "+strings.Join(failed, ", "))
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w (%s)", fail.ErrHosts, strings.Join(why, "; "))
}

// problemRow is the row of a host that gave no answer to show: cells
// HOST, then "-" up to the state column, the state, "-" again and the
// reason last.
func problemRow(a HostAnswer, width, stateCol int) []table.Cell {
	cells := make([]table.Cell, width)
	cells[0] = table.Cell{Text: termsafe.Line(a.Host)}
	for i := 1; i < width; i++ {
		cells[i] = table.Cell{Text: "-"}
	}
	state, why := "unreachable", a.Unreachable
	switch {
	case a.TooLarge:
		state, why = "answer too large", a.Error
	case why == "":
		state, why = "error", a.Error
	}
	cells[stateCol] = table.Cell{Text: state, Color: table.Red}
	cells[width-1] = table.Cell{Text: termsafe.Line(why)}
	return cells
}

func (e *Env) fleetList(c *cli.Context) error {
	as := e.ask(c, "list")
	if c.Bool("json") {
		if err := e.printAnswers(as); err != nil {
			return err
		}
		return hostsErr(as)
	}
	t := table.New("HOST", "NAME", "PORTS", "AUTOSTART", "STATE", "PLAYERS", "BOTS", "MOUNTED", "DISK", "OVERLAYS")
	var notes []string
	for i := range as {
		a := &as[i]
		rows, ok := decodeAnswer[[]Row](a, "list")
		if !ok {
			t.Row(problemRow(*a, 10, 4)...)
			continue
		}
		if len(rows) == 0 {
			t.Row(append([]table.Cell{{Text: termsafe.Line(a.Host)}}, table.Plain("-", "-", "-", "-", "-", "-", "-", "-", "no instances")...)...)
		}
		for _, r := range rows {
			t.Row(append([]table.Cell{{Text: termsafe.Line(a.Host)}}, listCells(r, e.Now())...)...)
			for _, n := range rowNotes(r) {
				notes = append(notes, n[:2]+termsafe.Line(a.Host)+": "+n[2:])
			}
		}
	}
	if err := t.Write(e.Stdout, e.Color); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(e.Stdout, n)
	}
	return hostsErr(as)
}

func (e *Env) fleetStatus(c *cli.Context, name string) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	as := e.ask(c, "status", name)
	if c.Bool("json") {
		if err := e.printAnswers(as); err != nil {
			return err
		}
		return statusErr(as)
	}
	t := table.New("HOST", "NAME", "PORT", "AUTOSTART", "STATE", "PLAYERS", "BOTS", "MOUNTED", "SINCE")
	for i := range as {
		a := &as[i]
		st, ok := decodeAnswer[StatusJSON](a, "status")
		if !ok {
			t.Row(problemRow(*a, 9, 4)...)
			continue
		}
		port, auto := st.Ports.text(st.Port), yesNo(st.Autostart)
		if st.Error != "" {
			port, auto = "-", "invalid spec"
		}
		state := termsafe.Line(st.State)
		if st.Hibernating {
			state += ", hibernating" // as list --host shows it
		}
		if st.RestoreLeft != "" {
			state += ", ~restore" // left4me status NAME on that host says what
		}
		since := "-"
		if !st.Since.IsZero() {
			since = st.Since.Format(time.DateTime + " MST")
		}
		t.Row(table.Cell{Text: termsafe.Line(a.Host)}, table.Cell{Text: termsafe.Line(st.Name)}, table.Cell{Text: port},
			table.Cell{Text: auto}, table.Cell{Text: state, Color: clienv.StateColor(st.State)},
			table.Cell{Text: clienv.Count(st.Humans)}, table.Cell{Text: clienv.Count(st.Bots)}, table.Cell{Text: yesNo(st.Mounted)},
			table.Cell{Text: since})
	}
	if err := t.Write(e.Stdout, e.Color); err != nil {
		return err
	}
	return statusErr(as)
}

// decodeAnswer reads a host's --json answer of command into a T. It
// reports false for a host that did not answer, failed, or answered
// something else (which it records as the host's error).
func decodeAnswer[T any](a *HostAnswer, command string) (T, bool) {
	var v T
	if a.Result != nil {
		if err := json.Unmarshal(a.Result, &v); err != nil {
			a.Error = "not an answer of left4me " + command + " --json: " + err.Error()
		}
	}
	return v, a.Unreachable == "" && a.Error == ""
}

// statusErr: a host's trouble first (exit 1), then an instance that is
// not running somewhere (exit 3, as status of one host).
func statusErr(as []HostAnswer) error {
	if err := hostsErr(as); err != nil {
		return err
	}
	for _, a := range as {
		var st StatusJSON
		if json.Unmarshal(a.Result, &st) != nil || st.State != "active" && st.State != "reloading" {
			return fail.Shown(fmt.Errorf("%s is not running on every host: %w", st.Name, fail.ErrNotRunning))
		}
	}
	return nil
}

func (e *Env) fleetPlayers(c *cli.Context, name string) error {
	if err := layout.ValidateName(name); err != nil {
		return err
	}
	as := e.ask(c, "players", name)
	if c.Bool("json") {
		if err := e.printAnswers(as); err != nil {
			return err
		}
		return hostsErr(as)
	}
	t := table.New("HOST", "MAP", "PLAYERS", "BOTS", "SLOTS", "NAME", "SCORE", "TIME")
	for i := range as {
		a := &as[i]
		p, ok := decodeAnswer[playersJSON](a, "players")
		if !ok {
			t.Row(problemRow(*a, 8, 1)...)
			continue
		}
		head := []table.Cell{{Text: termsafe.Line(a.Host)}, {Text: termsafe.Line(p.Map)}, {Text: strconv.Itoa(p.Humans)},
			{Text: strconv.Itoa(p.Bots)}, {Text: strconv.Itoa(p.MaxPlayers)}}
		if len(p.Players) == 0 {
			t.Row(append(head, table.Plain("-", "-", "-")...)...)
		}
		for _, pl := range p.Players {
			t.Row(append(head, table.Cell{Text: termsafe.Line(pl.Name)}, table.Cell{Text: strconv.Itoa(int(pl.Score))},
				table.Cell{Text: (time.Duration(pl.Seconds) * time.Second).String()})...)
		}
	}
	if err := t.Write(e.Stdout, e.Color); err != nil {
		return err
	}
	return hostsErr(as)
}

// firstLine is s up to its first line break: a remote left4me says what
// went wrong there first.
func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
