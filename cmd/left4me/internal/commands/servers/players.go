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
}

func (e *Env) players(ctx context.Context, name string, asJSON bool) error {
	// Where it runs, when it runs: its spec may name a port not in
	// effect yet, and may not be readable (specs are root's).
	addr := ""
	if _, err := e.Instance(name); err != nil {
		return err
	}
	if sd, err := e.Connect(ctx); err == nil {
		addr, _ = e.RunningAddr(ctx, sd, name)
		sd.Close()
	}
	if addr == "" {
		s, err := e.Load(name)
		if err != nil {
			return err
		}
		addr = s.QueryAddr()
	}
	ctx, cancel := context.WithTimeout(ctx, playersTimeout)
	defer cancel()
	info, err := e.ServerInfo(ctx, addr)
	if err != nil {
		return fmt.Errorf("%s does not answer A2S_INFO on %s (is it running? `left4me status %s`): %w", name, addr, name, err)
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
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(e.Stdout, "%s on %s, map %s: %d player(s), %d bot(s), %d slots\n", name, addr, info.Map, out.Humans, out.Bots, out.MaxPlayers)
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
