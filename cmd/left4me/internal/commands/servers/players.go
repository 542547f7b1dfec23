package servers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/a2s"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/termsafe"
)

// playersTimeout bounds one server's answer to A2S_INFO and A2S_PLAYER.
const playersTimeout = 2 * time.Second

func PlayersCmd(e *Env) *cli.Command {
	return &cli.Command{
		Name:      "players",
		Usage:     "who is on a server: name, score and time connected (A2S_PLAYER), humans and bots",
		ArgsUsage: "NAME",
		Description: `Asks the server itself, as a server browser does, where it listens (its
-ip, or 127.0.0.1). The counts come from A2S_INFO, whose player count
includes bots; the list from A2S_PLAYER, which names bots like players.

` + fleetHelp + `

Examples:
  left4me players srv1
  left4me players srv1 --json
  left4me players srv1 --host eu1.example.org --host na1.example.org`,
		Flags:        append([]cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}}, hostFlags()...),
		BashComplete: e.CompleteNames,
		Action: clienv.OnName(func(c *cli.Context, name string) error {
			if c.IsSet("host") {
				return e.fleetPlayers(c, name)
			}
			return e.players(c.Context, name, c.Bool("json"))
		}),
	}
}

type playerJSON struct {
	Name    string  `json:"name"`
	Score   int32   `json:"score"`
	Seconds float32 `json:"seconds"`
}

type playersJSON struct {
	Instance   string       `json:"instance"`
	Address    string       `json:"address"`
	Map        string       `json:"map"`
	Humans     int          `json:"humans"`
	Bots       int          `json:"bots"`
	MaxPlayers int          `json:"max_players"`
	Players    []playerJSON `json:"players"`
	// FromConsole: A2S was silent and the console's status counted the
	// humans; map, bots and slots are unknown then.
	FromConsole bool `json:"from_console,omitempty"`
	// Reserved: the console says a lobby reserved the server (its
	// players may be on their way); asked only when A2S is silent.
	Reserved bool `json:"reserved,omitempty"`
}

// consoleWait bounds the console's answer when A2S is silent;
// reservedWait, when it answered with nobody on (an answering server
// runs frames: its console answers at once).
const (
	consoleWait  = 5 * time.Second
	reservedWait = 2 * time.Second
)

func (e *Env) players(ctx context.Context, name string, asJSON bool) error {
	// Where it runs, when it runs: its spec may name a port not in
	// effect yet, and may not be readable (specs are root's).
	addr := ""
	if _, err := e.Instance(name); err != nil {
		return err
	}
	if sd, err := e.Connect(ctx); err == nil {
		u, uerr := sd.Unit(ctx, clienv.UnitOf(name))
		addr, _ = e.RunningAddr(ctx, sd, name)
		sd.Close()
		if uerr == nil && unitctl.Down(u) {
			return fmt.Errorf("%w: %s is %s: nobody plays on it", fail.ErrNotRunning, name, u.ActiveState)
		}
	}
	if addr == "" {
		s, err := e.Load(name)
		if err != nil {
			return err
		}
		addr = s.QueryAddr()
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, playersTimeout)
	defer cancel()
	info, err := e.ServerInfo(ctx, addr)
	if err != nil {
		// An empty L4D2 server hibernates and answers no query (as with
		// -nomaster): its console still counts, as --when-empty asks it.
		// Its own time: the query's is spent.
		c, cerr := e.Humans(parent, name, consoleWait)
		if cerr != nil {
			return fmt.Errorf("%s does not answer A2S_INFO on %s (%w), nor could its console count its players (%w); `left4me status %s`", name, addr, err, cerr, name)
		}
		out := playersJSON{Instance: name, Address: addr, Humans: c.Humans, Players: []playerJSON{}, FromConsole: true, Reserved: c.Reserved}
		if asJSON {
			enc := json.NewEncoder(e.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		reserved := ""
		if c.Reserved {
			reserved = ", reserved by a lobby"
		}
		fmt.Fprintf(e.Stdout, "%s on %s: %d player(s)%s, counted by its console: it answers no A2S_INFO (an empty L4D2 server hibernates; or -nomaster)\n", name, addr, c.Humans, reserved)
		return nil
	}
	list, err := e.PlayerList(ctx, addr)
	if err != nil {
		return fmt.Errorf("%s answers A2S_INFO but not A2S_PLAYER on %s: %w", name, addr, err)
	}
	out := playersJSON{Instance: name, Address: addr, Map: info.Map, Humans: max(int(info.Players)-int(info.Bots), 0),
		Bots: int(info.Bots), MaxPlayers: int(info.MaxPlayers), Players: []playerJSON{}}
	for _, p := range list {
		out.Players = append(out.Players, playerJSON{Name: p.Name, Score: p.Score, Seconds: p.Duration})
	}
	reserved := ""
	if out.Humans == 0 && !asJSON {
		// Nobody on: a lobby may have reserved it for players on their
		// way, which only its console's status says (a restart when
		// empty waits for them). No answer there says nothing. Not for
		// --json, which the panel asks every few seconds: each status
		// is in the server's journal.
		if c, err := e.Humans(parent, name, reservedWait); err == nil && c.Reserved {
			out.Reserved = true
			reserved = ", reserved by a lobby (its players may be on their way)"
		}
	}
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(e.Stdout, "%s on %s, map %s: %d player(s)%s, %d bot(s), %d slots\n", name, addr, info.Map, out.Humans, reserved, out.Bots, out.MaxPlayers)
	if len(list) == 0 {
		return nil
	}
	t := table.New("NAME", "SCORE", "TIME")
	for _, p := range out.Players {
		t.Row(table.Cell{Text: termsafe.Line(p.Name)}, table.Cell{Text: strconv.Itoa(int(p.Score))},
			table.Cell{Text: (time.Duration(p.Seconds) * time.Second).String()})
	}
	return t.Write(e.Stdout, e.Color)
}

// ServerInfo and playerList are the real queries (Env.ServerInfo,
// Env.PlayerList).
func ServerInfo(ctx context.Context, addr string) (a2s.Info, error) { return a2s.Query(ctx, addr) }

func PlayerList(ctx context.Context, addr string) ([]a2s.Player, error) {
	return a2s.QueryPlayers(ctx, addr)
}
