package game

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
	"github.com/left4me/left4me/prestart/fsat"
	"github.com/left4me/left4me/spec/layout"
)

// latestTimeout bounds the question to Steam in `game status`.
const latestTimeout = 3 * time.Minute

// latestFile, in steamcmd's home, keeps Steam's last answer ("BUILD
// UNIXTIME"), and latestErrorFile its last failure ("UNIXTIME\nMESSAGE"):
// `game status --latest-max-age` reuses them, so the web panel's game
// page, refreshed every 3 s, asks Steam at most that often.
const (
	latestFile      = "left4me-latest-build"
	latestErrorFile = "left4me-latest-error"
)

// latest is Steam's answer about the current build and when it was given.
type latest struct {
	Build  string
	At     time.Time
	Cached bool   // an earlier ask's answer
	Why    string // why an earlier answer, however old ("" if fresh enough)
}

// latestBuild asks Steam for the current build of the game, or reuses an
// answer (or a failure) at most maxAge old. One process asks at a time;
// another that would ask meanwhile gets the last answer, however old (a
// page refreshed every 3 s must not pile up steamcmds while Steam is slow
// or unreachable), and so does one while an update or gc runs, which
// uses steamcmd's home.
func (e *Env) latestBuild(ctx context.Context, c *cli.Context, maxAge time.Duration) (latest, error) {
	sc, err := e.steamConfig(c)
	if err != nil {
		return latest{}, err
	}
	if e.Euid != 0 {
		return latest{}, errors.New("asking Steam needs root (steamcmd's home is in the state root); use sudo, or --offline")
	}
	home := sc.Home
	last, lerr := readLatest(home)
	if maxAge > 0 {
		// A kept failure is newer than the kept answer (an answer
		// removes it).
		if at, msg, err := readLatestError(home); err == nil && e.Now().Sub(at) <= maxAge {
			return latest{}, fmt.Errorf("as of %s: %s", at.Local().Format("15:04"), msg)
		}
		if lerr == nil && e.Now().Sub(last.At) <= maxAge {
			return last, nil
		}
	}
	earlier := func(why string, err error) (latest, error) {
		if lerr != nil {
			return latest{}, fmt.Errorf("not asked: %w", err)
		}
		last.Why = why
		return last, nil
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return latest{}, err
	}
	release, err := layout.TryLock(home)
	if err != nil {
		return earlier("another ask of Steam is under way", err)
	}
	defer release()
	busy, err := versions.Store{Root: e.Layout.Root}.Lock()
	if err != nil {
		return earlier("an update or gc runs: not asked now", err)
	}
	busy()
	ctx, cancel := context.WithTimeout(ctx, latestTimeout)
	defer cancel()
	build, err := steamcmd.LatestBuild(ctx, sc)
	if err != nil {
		if werr := writeFile(home, latestErrorFile, strconv.FormatInt(e.Now().Unix(), 10)+"\n"+oneLine(err.Error())+"\n"); werr != nil {
			e.Note("cannot keep Steam's answer: %v", werr)
		}
		return latest{}, err
	}
	l := latest{Build: build, At: e.Now()}
	err = writeFile(home, latestFile, build+" "+strconv.FormatInt(l.At.Unix(), 10)+"\n")
	if rerr := os.Remove(filepath.Join(home, latestErrorFile)); err == nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = rerr
	}
	if err != nil {
		e.Note("cannot keep Steam's answer: %v", err)
	}
	return l, nil
}

func readLatest(home string) (latest, error) {
	b, err := os.ReadFile(filepath.Join(home, latestFile))
	if err != nil {
		return latest{}, err
	}
	build, at, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	sec, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || build == "" || strings.Trim(build, "0123456789") != "" {
		return latest{}, fmt.Errorf("%s: %w", latestFile, fs.ErrInvalid)
	}
	return latest{Build: build, At: time.Unix(sec, 0), Cached: true}, nil
}

func readLatestError(home string) (time.Time, string, error) {
	b, err := os.ReadFile(filepath.Join(home, latestErrorFile))
	if err != nil {
		return time.Time{}, "", err
	}
	at, msg, _ := strings.Cut(string(b), "\n")
	sec, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("%s: %w", latestErrorFile, fs.ErrInvalid)
	}
	return time.Unix(sec, 0), strings.TrimSpace(msg), nil
}

// writeFile replaces home/name atomically (a reader sees the old content
// or the new).
func writeFile(home, name, data string) error {
	return fsat.WriteFile(filepath.Join(home, name), []byte(data), fsat.WriteOptions{Perm: 0o644})
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
