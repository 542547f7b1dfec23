package game

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/clienv"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/game"
	"github.com/left4me/left4me/cmd/left4me/internal/gamehost"
	"github.com/left4me/left4me/cmd/left4me/internal/progress"
	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
)

// CredentialName is the systemd credential holding the Steam password
// (LoadCredential=steam-password:... in left4me-update.service).
const CredentialName = "steam-password"

// gameFlags are the flags of the game subcommands; each subcommand owns
// the ones that apply to it, so its --help lists them.
func gameFlags(names ...string) []cli.Flag {
	all := map[string]cli.Flag{
		"steamcmd":       &cli.StringFlag{Name: "steamcmd", EnvVars: []string{"LEFT4ME_STEAMCMD"}, Usage: "steamcmd `PATH` (default: steamcmd in PATH, /usr/games/steamcmd)"},
		"login":          &cli.StringFlag{Name: "login", EnvVars: []string{"LEFT4ME_STEAM_LOGIN"}, Usage: "log in to Steam as `USER` instead of anonymously; the password comes from the systemd credential " + CredentialName + ", --password-stdin or a prompt, never from argv"},
		"password-stdin": &cli.BoolFlag{Name: "password-stdin", Usage: "read the password from the first line of stdin"},
		"guard-code":     &cli.StringFlag{Name: "guard-code", Usage: "with --login: the Steam Guard `CODE` (e-mail or mobile) for this first login; steamcmd then keeps the login, so later runs need neither code nor password"},
		"validate":       &cli.BoolFlag{Name: "validate", Usage: "have steamcmd check every file"},
		"force":          &cli.BoolFlag{Name: "force", Usage: "keep the new version even if the build did not change"},
		"offline":        &cli.BoolFlag{Name: "offline", Usage: "do not ask Steam for the latest build"},
		"json":           &cli.BoolFlag{Name: "json", Usage: "print JSON"},
		"dry-run":        &cli.BoolFlag{Name: "dry-run", Usage: "say what would be removed"},
	}
	out := make([]cli.Flag, 0, len(names))
	for _, n := range names {
		out = append(out, all[n])
	}
	return out
}

func Command(e *Env) *cli.Command {
	sub := func(name, usage, desc string, flags []cli.Flag, action func(*cli.Context) error) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, Description: desc, Flags: flags, Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("%w: game %s takes no arguments, got %q", fail.ErrUsage, name, c.Args().Slice())
			}
			return action(c)
		}, OnUsageError: clienv.UsageError}
	}
	return &cli.Command{
		Name:  "game",
		Usage: "install, update, inspect and clean up the game installation (Steam app 222860)",
		Description: `The installation is kept as versions below $LEFT4ME_ROOT/installations/
(BUILD-TIMESTAMP); $LEFT4ME_ROOT/installation links to the current one.
An update runs steamcmd into a new version built over the current one, so
nothing it writes can reach a file a running server reads; only when it
succeeded and the result validates does the link switch, atomically. A
running server keeps its version until it restarts
(` + "`left4me restart --all --when-empty`" + `); gc removes the versions no longer
used.

Examples:
  left4me game install
  left4me game update --login mysteamaccount
  left4me game status
  left4me game gc`,
		Subcommands: []*cli.Command{
			sub("install", "install the game as the first version", `Runs steamcmd (anonymously: platform windows first, then linux with
validate, the workaround for "Invalid platform") into installations/ID and
links installation to it. Needs root.

Example:
  left4me game install`, gameFlags("steamcmd", "login", "password-stdin", "guard-code", "validate"), func(c *cli.Context) error { return e.gameUpdate(c, true) }),
			sub("update", "download the current build into a new version and switch to it", `Only what changed is downloaded: steamcmd works in an overlay over the
current version, and every file it did not change is hard-linked into the
new version. A failure (or Ctrl-C) leaves the current installation as it
was. Needs root. left4me-update.service runs it, daily with its timer.

With --service it runs as left4me-update.service instead, with that
unit's settings (/etc/left4me/update.env, the steam-password credential),
and its output is followed here until it ends (the web panel's update
runs so). An update already running (the timer's) is followed rather
than started again.

Examples:
  left4me game update
  left4me game update --steamcmd /opt/steamcmd/steamcmd.sh
  left4me game update --login mysteamaccount --password-stdin < pwfile
  left4me game install --login mysteamaccount --guard-code F4K3X
  left4me game update --service`, append(append(gameFlags("steamcmd", "login", "password-stdin", "guard-code", "validate", "force"), updatePolicyFlags()...),
				&cli.BoolFlag{Name: "service", Usage: "run it as " + UpdateUnit + " (its settings: update.env) and follow its output until it ends: steamcmd runs outside this process, so a restart of the web panel that asked for it does not end it; Ctrl-C (or a lost terminal) stops an update it started, as without --service, and only stops following one it found running"}),
				func(c *cli.Context) error {
					if c.Bool("service") {
						return e.updateInUnit(c)
					}
					return e.gameUpdate(c, false)
				}),
			sub("status", "versions, their builds, which instances run on which, and whether Steam has a newer build", `Example:
  left4me game status
  left4me game status --offline --json`, append(gameFlags("steamcmd", "login", "offline", "json"),
				&cli.DurationFlag{Name: "latest-max-age", Usage: "reuse Steam's answer if an earlier ask got it at most this long ago (the web panel: 10m); 0 asks now"}), e.gameStatus),
			sub("gc", "remove versions that are not current and that no running instance uses", `Example:
  left4me game gc --dry-run`, gameFlags("dry-run"), e.gameGC),
		},
	}
}

func (e *Env) needRoot(action string) error {
	if e.Euid != 0 {
		return fmt.Errorf("%w: %s needs root (it mounts an overlay and writes %s); run it with sudo", fail.ErrPermission, action, e.Layout.Root)
	}
	return nil
}

func (e *Env) steamConfig(c *cli.Context) (steamcmd.Config, error) {
	path, err := steamcmd.Find(c.String("steamcmd"))
	return steamcmd.Config{Path: path, Home: game.SteamHome(e.Layout.Root), Env: os.Environ()}, err
}

func (e *Env) gameUpdate(c *cli.Context, install bool) (err error) {
	op := "left4me game update"
	if install {
		op = "left4me game install"
	}
	if err := e.needRoot(op); err != nil {
		return err
	}
	if err := e.refused(c.Context, op, e.checkUpdateEnv()); err != nil {
		return err
	}
	policy, deadline := policyNever, time.Duration(0)
	if !install {
		var perr error
		if policy, deadline, perr = updatePolicy(c); perr != nil {
			if !policyFromUpdateEnv(c, perr) {
				return perr
			}
			// update.env's (the timer's run, which nobody watches): the
			// update itself still runs, so that servers start on the new
			// build (an old one may be closed to players' clients), and
			// none is restarted; the run fails at its end, and says why.
			policy, deadline = policyNever, 0
			e.AlertFailure(c.Context, perr, alert.UpdateFailed, "", op+": the restart policy in "+e.updateEnvPath()+" is invalid, so no server is restarted onto a new build (the update itself runs)", "journalctl -u "+UpdateUnit)
			fmt.Fprintf(e.Stderr, "%v (in %s): the update runs all the same, restarting no server (--restart never)\n", perr, e.updateEnvPath())
			defer func() { err = errors.Join(err, perr) }()
		}
	}
	sc, err := e.steamConfig(c)
	if err != nil {
		return err
	}
	if err := e.refused(c.Context, op, steamcmd.Check(sc.Path)); err != nil {
		return err
	}
	req := game.Request{Install: install, Login: c.String("login"), GuardCode: c.String("guard-code"), Validate: c.Bool("validate"), Force: c.Bool("force")}
	if req.GuardCode != "" && req.Login == "" {
		return fmt.Errorf("%w: --guard-code goes with --login ACCOUNT (anonymous logins have no Steam Guard)", fail.ErrUsage)
	}
	if req.Login != "" {
		if req.Password, err = e.steamPassword(req.Login, c.Bool("password-stdin")); err != nil {
			return err
		}
		if req.GuardCode != "" && req.Password == "" {
			return fmt.Errorf("%w: --guard-code is sent with the password, and there is none for this run (--password-stdin, the %s credential or the prompt)", fail.ErrUsage, CredentialName)
		}
	}
	missing := e.missing32()
	if len(missing) > 0 {
		e.Note("%s", gamehost.Hint(missing))
	}
	pr := &progress.Printer{W: e.Stdout, TTY: e.stdoutTerminal()}
	cfg := game.Config{Store: versions.Store{Root: e.Layout.Root}, Steam: sc, Now: e.Now, Out: stepWriter{pr}, OnLine: pr.Line}
	out, err := game.Update(c.Context, cfg, req)
	pr.Done()
	if err != nil {
		// A refusal (installed already, another run holds the lock) is
		// no failed update: the operator reads it, nobody is paged.
		if !errors.Is(err, game.ErrExists) && !errors.Is(err, versions.ErrBusy) {
			e.AlertFailure(c.Context, err, alert.UpdateFailed, "", op+" failed; the current installation stays", "journalctl -u left4me-update, or the command's output")
		}
		// Interrupted, it says so alone: the libraries did not end it
		// (and the note above said them as it began).
		if len(missing) > 0 && !errors.Is(err, versions.ErrBusy) && c.Context.Err() == nil {
			err = fmt.Errorf("%w\n%s", err, gamehost.Hint(missing))
		}
		return err
	}
	e.FixSteamclient(sc)
	switch {
	case out.UpToDate:
		fmt.Fprintf(e.Stdout, "up to date: build %s (%s)\n", out.Build, out.Previous)
	case out.Previous == "":
		fmt.Fprintf(e.Stdout, "installed build %s as version %s\n", out.Build, out.ID)
		return nil
	default:
		fmt.Fprintf(e.Stdout, "updated to build %s: installation -> %s/%s\n", out.Build, versions.Dir, out.ID)
		e.SendAlert(c.Context, e.Event(alert.NewBuild, "", "game updated to build "+out.Build+" (version "+out.ID+")", "servers move to it when they restart"))
	}
	// The servers on an older version, by the policy: also after a run
	// that found nothing new, for those an earlier one left (occupied).
	st, err := game.ReadStatus(versions.Store{Root: e.Layout.Root})
	if err != nil || st.Current.ID == "" {
		return nil
	}
	var old []string
	for _, u := range st.Uses {
		if u.Version != st.Current.ID {
			old = append(old, u.Instance)
		}
	}
	refused, err := e.moveOver(c.Context, policy, deadline, old)
	if (err != nil || refused != nil) && !errors.Is(err, context.Canceled) && c.Context.Err() == nil {
		summary, detail := policyAlert(policy, out.Build, refused, err)
		e.SendAlert(c.Context, e.Event(alert.UpdateFailed, "", summary, detail))
	}
	// The servers left out fail the update only now, once the others moved.
	return errors.Join(err, refused)
}

// stepWriter prints the update's own messages between steamcmd's lines.
type stepWriter struct{ p *progress.Printer }

func (w stepWriter) Write(b []byte) (int, error) {
	w.p.Done()
	return w.p.W.Write(b)
}

func (e *Env) stdoutTerminal() bool {
	f, ok := e.Stdout.(*os.File)
	return ok && clienv.IsTerminal(f)
}

// steamPassword finds the password of login: the systemd credential
// (LoadCredential=), then stdin if asked, then a prompt on a terminal. An
// empty password makes steamcmd use the login it cached earlier.
func (e *Env) steamPassword(login string, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("%w: --password-stdin: no password on stdin", fail.ErrUsage)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, CredentialName))
		if err == nil {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("credential %s: %w", CredentialName, err)
		}
	}
	if e.Terminal {
		return e.prompt(fmt.Sprintf("Steam password for %s (empty: use the login steamcmd cached): ", login))
	}
	e.Note("no password for %s (no systemd credential %s, no terminal, no --password-stdin): steamcmd uses the login it cached, if any", login, CredentialName)
	return "", nil
}

// prompt reads a line from the terminal on stdin without echoing it.
func (e *Env) prompt(msg string) (string, error) {
	fmt.Fprint(e.Stderr, msg)
	defer fmt.Fprintln(e.Stderr)
	if f, ok := e.Stdin.(*os.File); ok {
		fd := int(f.Fd())
		if old, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			quiet := *old
			quiet.Lflag &^= unix.ECHO
			quiet.Lflag |= unix.ICANON | unix.ECHONL
			if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err == nil {
				defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
			}
		}
	}
	line, err := bufio.NewReader(e.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// FixSteamclient puts steamclient.so where srcds looks for it:
// ~/.steam/sdk32/ of the server's user. A failure is a note: the game
// files are fine either way.
func (e *Env) FixSteamclient(sc steamcmd.Config) {
	// Where l4d2@.service looks: its HOME is the state root, whatever the
	// server user's passwd entry says.
	home := e.Layout.Root
	src, changed, err := gamehost.InstallSteamclient(gamehost.SteamclientCandidates(sc.Home, steamcmd.Dir(sc.Path)), home)
	if err != nil {
		e.Note("%v", err)
		return
	}
	if changed {
		fmt.Fprintf(e.Stdout, "installed %s (from %s) for the servers (their HOME)\n", gamehost.SDK32(home), src)
	}
}

func (e *Env) gameGC(c *cli.Context) error {
	dry := c.Bool("dry-run")
	if !dry {
		if err := e.needRoot("left4me game gc"); err != nil {
			return err
		}
	}
	res, err := game.GC(c.Context, versions.Store{Root: e.Layout.Root}, dry)
	for _, p := range res.Cleaned {
		fmt.Fprintf(e.Stdout, "removed leftover %s\n", p)
	}
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	for _, v := range res.Removed {
		fmt.Fprintf(e.Stdout, "%s %s%s\n", verb, v.Name(), buildOf(v))
	}
	for _, k := range res.Kept {
		fmt.Fprintf(e.Stdout, "kept %s%s: %s\n", k.Version.Name(), buildOf(k.Version), k.Reason)
	}
	if err != nil {
		return fail.NeedsRoot(err, "left4me game gc")
	}
	if len(res.Removed) == 0 {
		fmt.Fprintln(e.Stdout, "nothing to remove")
	}
	return nil
}

func buildOf(v versions.Version) string {
	if v.ManifestErr != nil {
		return " (build unknown)"
	}
	return " (build " + v.Manifest.BuildID + ")"
}
