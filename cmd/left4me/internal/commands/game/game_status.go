package game

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/game"
	"github.com/left4me/left4me/cmd/left4me/internal/gamehost"
	"github.com/left4me/left4me/cmd/left4me/internal/table"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
)

// GameStatusJSON is `left4me game status --json`.
type GameStatusJSON struct {
	Installation string             `json:"installation"` // the link's target, or a description
	Versions     []gameVersionJSON  `json:"versions"`
	Unknown      []gameInstanceJSON `json:"unknown_instances"` // mounted, version not told
	Latest       string             `json:"latest_build,omitempty"`
	LatestAsOf   string             `json:"latest_as_of,omitempty"` // when Steam said it, if not now
	LatestError  string             `json:"latest_error,omitempty"`
	Update       *bool              `json:"update_available,omitempty"`
	Missing32    []string           `json:"missing_32bit_packages"`
	Steamclient  string             `json:"steamclient,omitempty"` // path when present
}

type gameVersionJSON struct {
	ID        string   `json:"id"` // "" for an unversioned installation
	Path      string   `json:"path"`
	Build     string   `json:"build,omitempty"`
	Made      string   `json:"made,omitempty"`
	Current   bool     `json:"current"`
	Instances []string `json:"instances"`
	Problem   string   `json:"problem,omitempty"`
}

type gameInstanceJSON struct {
	Name string `json:"name"`
	Why  string `json:"why"`
	// Denied: its version is root's to read, not missing.
	Denied bool `json:"permission_denied,omitempty"`
}

func (e *Env) gameStatus(c *cli.Context) error {
	st, err := game.ReadStatus(versions.Store{Root: e.Layout.Root})
	if err != nil {
		return err
	}
	out := GameStatusJSON{Versions: []gameVersionJSON{}, Unknown: []gameInstanceJSON{}, Missing32: []string{}}
	switch {
	case st.Current.None():
		out.Installation = "none: install the game with `left4me game install`"
	case st.Current.Legacy:
		out.Installation = "an unversioned directory (the next update makes it a version)"
	default:
		out.Installation = versions.Dir + "/" + st.Current.ID
	}
	users := map[string][]string{}
	for _, u := range st.Uses {
		if u.Version == "" {
			why := u.How
			if u.Denied && e.Euid != 0 {
				why += " (root's); run as root to see it: sudo left4me game status"
			}
			out.Unknown = append(out.Unknown, gameInstanceJSON{u.Instance, why, u.Denied})
			continue
		}
		users[u.Version] = append(users[u.Version], u.Instance)
	}
	var current string
	for _, v := range st.Versions {
		j := gameVersionJSON{ID: v.ID, Path: v.Path, Current: v.Current, Instances: users[v.Name()]}
		if j.Instances == nil {
			j.Instances = []string{}
		}
		if v.ManifestErr != nil {
			j.Problem = v.ManifestErr.Error()
		} else {
			j.Build = v.Manifest.BuildID
		}
		if !v.Legacy {
			j.Made = versions.Made(v.ID).Format("2006-01-02 15:04 MST")
		}
		if v.Current {
			current = j.Build
		}
		out.Versions = append(out.Versions, j)
	}
	if !c.Bool("offline") {
		latest, err := e.latestBuild(c.Context, c, c.Duration("latest-max-age"))
		if err != nil {
			out.LatestError = err.Error()
		} else {
			out.Latest = latest.Build
			if latest.Cached {
				out.LatestAsOf = latest.At.Local().Format("2006-01-02 15:04 MST")
				if latest.Why != "" {
					out.LatestAsOf += "; " + latest.Why
				}
			}
			if current != "" {
				upd := latest.Build != current
				out.Update = &upd
			}
		}
	}
	for _, l := range e.missing32() {
		out.Missing32 = append(out.Missing32, l.Package)
	}
	if _, err := os.Stat(gamehost.SDK32(e.Layout.Root)); err == nil {
		out.Steamclient = gamehost.SDK32(e.Layout.Root)
	}
	if c.Bool("json") {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else if err := e.printGameStatus(out); err != nil {
		return err
	}
	if st.Current.None() {
		// Scripts ask `game status` whether there is a game to run.
		return fmt.Errorf("%w: no installation in %s; run `left4me game install`", fail.ErrNoGame, e.Layout.Root)
	}
	return nil
}

func (e *Env) printGameStatus(s GameStatusJSON) error {
	fmt.Fprintf(e.Stdout, "%s -> %s\n", e.Paint(e.Layout.Root+"/"+versions.Link, table.Bold), s.Installation)
	if len(s.Versions) > 0 {
		fmt.Fprintln(e.Stdout)
		t := table.New("VERSION", "BUILD", "MADE", "CURRENT", "INSTANCES")
		for _, v := range s.Versions {
			id, build, made := v.ID, v.Build, v.Made
			if id == "" {
				id = versions.Link + " (unversioned)"
			}
			if build == "" {
				build = "?"
			}
			if made == "" {
				made = "-"
			}
			cur := table.Cell{Text: "no"}
			if v.Current {
				cur = table.Cell{Text: "yes", Color: table.Green}
			}
			inst := table.Cell{Text: "-", Color: table.Dim}
			if len(v.Instances) > 0 {
				inst = table.Cell{Text: strings.Join(v.Instances, ", ")}
				if !v.Current {
					inst.Color = table.Yellow // restart them to get the current build
				}
			}
			t.Row(table.Cell{Text: id}, table.Cell{Text: build}, table.Cell{Text: made}, cur, inst)
		}
		if err := t.Write(e.Stdout, e.Color); err != nil {
			return err
		}
		fmt.Fprintln(e.Stdout)
	}
	info := &table.Table{}
	var denied []string
	for _, u := range s.Unknown {
		if u.Denied && e.Euid != 0 {
			denied = append(denied, u.Name)
			continue
		}
		info.Row(table.Cell{Text: "version unknown:"}, table.Cell{Text: u.Name + " (" + u.Why + ")", Color: table.Yellow})
	}
	if len(denied) > 0 {
		// One line for them all: a host runs many servers, and the cause
		// is the same (runtime/NAME is root's, 0700).
		info.Row(table.Cell{Text: "version unknown:"}, table.Cell{Text: strings.Join(denied, ", ") + " (not root: permission denied reading " +
			e.Layout.RuntimeDir("NAME") + ", which is root's; run as root to see it: sudo left4me game status)", Color: table.Yellow})
	}
	switch {
	case s.LatestError != "":
		info.Row(table.Cell{Text: "latest build:"}, table.Cell{Text: "unknown: " + s.LatestError, Color: table.Dim})
	case s.Latest == "":
		info.Row(table.Cell{Text: "latest build:"}, table.Cell{Text: "not asked (--offline)", Color: table.Dim})
	case s.Update != nil && *s.Update:
		info.Row(table.Cell{Text: "latest build:"}, table.Cell{Text: s.Latest + asOf(s) + ": update available (left4me game update)", Color: table.Yellow})
	case s.Update != nil:
		info.Row(table.Cell{Text: "latest build:"}, table.Cell{Text: s.Latest + asOf(s) + " (up to date)", Color: table.Green})
	default:
		info.Row(table.Plain("latest build:", s.Latest+asOf(s))...)
	}
	if len(s.Missing32) > 0 {
		info.Row(table.Cell{Text: "32-bit libraries:"}, table.Cell{Text: "missing: apt-get install " + strings.Join(s.Missing32, " "), Color: table.Red})
	} else {
		info.Row(table.Cell{Text: "32-bit libraries:"}, table.Cell{Text: "ok", Color: table.Green})
	}
	if s.Steamclient != "" {
		info.Row(table.Cell{Text: "steamclient.so:"}, table.Cell{Text: s.Steamclient, Color: table.Green})
	} else {
		info.Row(table.Cell{Text: "steamclient.so:"}, table.Cell{Text: "missing for the servers' user (left4me game update installs it)", Color: table.Yellow})
	}
	return info.Write(e.Stdout, e.Color)
}

// asOf says when Steam gave an answer not asked for now.
func asOf(s GameStatusJSON) string {
	if s.LatestAsOf == "" {
		return ""
	}
	return " (as of " + s.LatestAsOf + ")"
}
