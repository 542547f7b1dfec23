package overlay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/left4me/left4me/cmd/left4me/internal/alert"
	"github.com/left4me/left4me/cmd/left4me/internal/commands/unitctl"
	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/cmd/left4me/internal/ovbuild"
	"github.com/left4me/left4me/cmd/left4me/internal/rollout"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/units"
)

func Command(e *Env) *cli.Command {
	return &cli.Command{
		Name:  "overlay",
		Usage: "build overlays in a sandbox, list their versions, remove unused ones",
		Description: `An overlay definition is $LEFT4ME_CONFIG_DIR/overlays/NAME.yaml:

  builder: NAME.sh          # run by /bin/sh -eu; relative to the definition
  restart: [srv1, srv2]     # restarted after a successful build, if running
  timeout: 10m              # default 30m; the build is killed after it
  memory_max: 2G            # default 2G
  tasks_max: 512            # default 512

The builder runs as the transient unit left4me-build-NAME-ID.service, user
left4me-build, with a read-only view of the system, network allowed, and
write access only to $LAYER (the new version: the game directory's root)
and $SCRATCH. Helpers: fetch URL, unpack ARCHIVE [DIR] (into $GAME =
$LAYER/left4dead2), addon FILE..., cfg NAME <TEXT, server_cfg <TEXT,
sourcemod [BRANCH], metamod [BRANCH] (AlliedModders' latest build; default
branch 1.12; LEFT4ME_ALLIEDMODS_MIRROR replaces their hosts), workshop
ID... (Workshop items of app 550 through steamcmd, as addons/ID.vpk;
LEFT4ME_STEAMCMD names steamcmd). Of the operator's environment, the build
gets LEFT4ME_ALLIEDMODS_MIRROR and LEFT4ME_STEAMCMD.
Only a successful build is switched in as $LEFT4ME_ROOT/overlays/NAME.

Examples:
  left4me overlay build competitive
  left4me overlay import comp ./comp
  left4me overlay status
  left4me overlay gc --dry-run`,
		Subcommands: []*cli.Command{
			{
				Name: "build", Usage: "run an overlay's builder and switch the result in", ArgsUsage: "NAME",
				Description: `Runs the definition's builder in its sandbox and, only when it succeeds,
switches the new version in. Then the running instances named in the
definition's restart: list that use this overlay are restarted one at a
time, each once it has no players (for at most --deadline; those still
occupied then keep the old version until their next restart), and the
first one the new version fails to bring back ends it.

Examples:
  left4me overlay build competitive
  left4me overlay build competitive --deadline 2h --force --warn-at 15m,5m
  left4me overlay build competitive --now
  left4me overlay build competitive --no-restart`,
				BashComplete: e.completeOverlays,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "no-restart", Usage: "do not restart the definition's instances"},
					&cli.BoolFlag{Name: "when-empty", Value: true, Usage: "restart each of them only once it has no players (the default; --now turns it off)"},
					&cli.BoolFlag{Name: "now", Usage: "restart them at once, players or not"},
					&cli.DurationFlag{Name: "deadline", Value: time.Hour, Usage: "leave servers still occupied after this long on the old version"},
					&cli.BoolFlag{Name: "force", Usage: "at the deadline, restart occupied servers too, after warning their players (not one with players its console does not let us warn; one that answers nothing at all, likely hung, is restarted)"},
					&cli.StringFlag{Name: "warn-at", Value: "10m,5m,1m", Usage: "with --force: warn the players this long before the deadline (`LIST`), and once more just before"},
					&cli.StringFlag{Name: "announce", Value: unitctl.DefaultAnnounce, Usage: "with --force: the warning players read (`TEXT`; %s is replaced by the time left)"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("%w: overlay build takes one overlay name; e.g. left4me overlay build competitive", fail.ErrUsage)
					}
					if c.Bool("now") && c.IsSet("when-empty") && c.Bool("when-empty") {
						return fmt.Errorf("%w: --now and --when-empty contradict each other", fail.ErrUsage)
					}
					p, err := unitctl.RolloutPlan(c, "restart", c.Bool("when-empty") && !c.Bool("now"), "without --now")
					if err != nil {
						return err
					}
					return e.overlayBuild(c.Context, c.Args().First(), !c.Bool("no-restart"), p)
				},
			},
			{
				Name: "import", Usage: "copy a directory in as an overlay's new version", ArgsUsage: "NAME DIR",
				Description: `Copies DIR (links copied as links, never followed; no devices, FIFOs or
sockets; extended attributes left out) into a new version of
$LEFT4ME_ROOT/overlays/NAME, checks it as a build's result (everything made
root's, setuid bits stripped, links out of it reported) and switches it
in. NAME may be a path below overlays/, such as workshop/maps. Running
instances keep the version they mounted until they restart: copying into
an overlay they have mounted would change a lower layer under them, which
overlayfs leaves undefined. Restart them when convenient; the old version
stays until ` + "`left4me overlay gc`" + `.

Examples:
  left4me overlay import comp ./comp
  left4me overlay import workshop/maps /srv/maps`,
				BashComplete: e.completeOverlays,
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return fmt.Errorf("%w: overlay import takes an overlay name and a directory; e.g. left4me overlay import comp ./comp", fail.ErrUsage)
					}
					return e.overlayImport(c.Context, c.Args().Get(0), c.Args().Get(1))
				},
			},
			{
				BashComplete: e.completeOverlays,
				Name:         "list", Usage: "list overlays, their versions and which instances run on them",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}},
				Action: func(c *cli.Context) error { return e.overlayStatus(c.Args().Slice(), c.Bool("json")) },
			},
			{
				BashComplete: e.completeOverlays,
				Name:         "status", Usage: "versions, instances on each version and the last build of overlays", ArgsUsage: "[NAME...]",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"}},
				Action: func(c *cli.Context) error { return e.overlayStatus(c.Args().Slice(), c.Bool("json")) },
			},
			{
				BashComplete: e.completeOverlays,
				Name:         "gc", Usage: "remove old overlay versions no running instance uses", ArgsUsage: "[NAME...]",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "dry-run", Usage: "only say what would be removed"}},
				Action: func(c *cli.Context) error { return e.overlayGC(c.Context, c.Args().Slice(), c.Bool("dry-run")) },
			},
		},
	}
}

// completeOverlays offers the names of overlay definitions and overlays.
func (e *Env) completeOverlays(c *cli.Context) {
	seen := map[string]bool{}
	defs, _ := os.ReadDir(ovbuild.DefDir(e.Layout))
	for _, d := range defs {
		if n, ok := strings.CutSuffix(d.Name(), ".yaml"); ok && ovbuild.ValidName(n) == nil {
			seen[n] = true
		}
	}
	ovs, _ := os.ReadDir(e.Layout.Overlays())
	for _, d := range ovs {
		if d.IsDir() && ovbuild.ValidName(d.Name()) == nil {
			seen[d.Name()] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(seen)) {
		fmt.Fprintln(c.App.Writer, n)
	}
}

func (e *Env) ovStore() ovbuild.Store {
	return ovbuild.Store{Root: e.Layout.Root, ConfigDir: e.Layout.ConfigDir, UnitActive: unitActive}
}

// unitActive asks systemd whether unit is active or on its way there or
// down; without an answer it says yes, so nothing is removed blindly.
func unitActive(unit string) bool {
	out, err := exec.Command("systemctl", "show", "-P", "ActiveState", unit).Output()
	if err != nil {
		return true
	}
	st := strings.TrimSpace(string(out))
	return st != "inactive" && st != "failed"
}

// overlayUsers are the instances whose spec names overlay name.
func (e *Env) overlayUsers(name string) []string {
	all, err := spec.LoadAll(e.Layout.InstancesDir())
	unread := errors.Is(err, fs.ErrPermission)
	var out []string
	for _, in := range all {
		unread = unread || errors.Is(in.Err, fs.ErrPermission)
		if in.Spec == nil {
			continue
		}
		for _, o := range in.Spec.Overlays {
			if o.Path == name {
				out = append(out, in.Name)
				break
			}
		}
	}
	if unread {
		// Specs are root's (0640): without root, who uses it is unknown.
		e.Note("the specs are root's, so which servers use an overlay is not known here; run with sudo")
	}
	return out
}

// namedOverlays is every overlay path the specs name.
func (e *Env) namedOverlays() []string {
	all, _ := spec.LoadAll(e.Layout.InstancesDir())
	var out []string
	for _, in := range all {
		if in.Spec != nil {
			for _, o := range in.Spec.Overlays {
				out = append(out, o.Path)
			}
		}
	}
	return out
}

func (e *Env) overlayBuild(ctx context.Context, name string, restart bool, p rollout.Plan) error {
	if e.Euid != 0 {
		return fmt.Errorf("%w: overlay build starts a unit and writes root-owned state; run: sudo left4me overlay build %s", fail.ErrPermission, name)
	}
	def, err := ovbuild.LoadDef(e.Layout, name)
	if err != nil {
		return err
	}
	// A name in restart: with no spec is a typo (or a deleted instance):
	// said before the build, not skipped after it.
	for _, inst := range def.Restart {
		if _, err := e.Instance(inst); errors.Is(err, fail.ErrUnknownInstance) {
			return fmt.Errorf("%w: %s: restart: there is no instance %q (no %s); fix the name or remove it, then build again", fail.ErrUsage, def.File, inst, e.Layout.SpecPath(inst))
		}
	}
	sr, _ := exec.LookPath("systemd-run")
	jc, _ := exec.LookPath("journalctl")
	sc, _ := exec.LookPath("systemctl")
	if sr == "" || jc == "" || sc == "" {
		return fmt.Errorf("%w: overlay build needs systemd-run, systemctl and journalctl", fail.ErrNoSystemd)
	}
	j := ovbuild.Job{Def: def, Instances: e.overlayUsers(name), Named: e.namedOverlays(), Out: e.Stdout, SystemdRun: sr, Journalctl: jc, Systemctl: sc, Env: ovbuild.PassEnv(os.Getenv)}
	old, err := e.ovStore().Build(ctx, j)
	if err != nil {
		e.AlertFailure(ctx, err, alert.BuildFailed, "", "overlay build of "+name+" failed; the current version stays", "left4me overlay build "+name)
		return err
	}
	if old != "" {
		fmt.Fprintf(e.Stdout, "left4me: overlay %s switched; the previous version %s stays until `left4me overlay gc`\n", name, old)
	} else {
		fmt.Fprintf(e.Stdout, "left4me: overlay %s switched in\n", name)
	}
	if !restart || len(def.Restart) == 0 {
		return nil
	}
	sd, err := e.Connect(ctx)
	if err != nil {
		return fmt.Errorf("the build succeeded, but %w", err)
	}
	defer sd.Close()
	var running []string
	users := map[string]bool{}
	for _, n := range j.Instances {
		users[n] = true
	}
	for _, inst := range def.Restart {
		if !users[inst] {
			fmt.Fprintf(e.Stdout, "left4me: %s does not use overlay %s (its spec does not list it); not restarted\n", inst, name)
			continue
		}
		u, err := sd.Unit(ctx, units.Instance(inst))
		if err != nil || (u.ActiveState != "active" && u.ActiveState != "activating") {
			fmt.Fprintf(e.Stdout, "left4me: %s is not running; it gets the new version when it starts\n", inst)
			continue
		}
		running = append(running, inst)
	}
	// As restart --all: one at a time, when empty if asked, and the first
	// server the new version fails to bring back ends it; one a start
	// would refuse (its spec) is left out, running, and named at the end.
	running, refused := e.LeaveOutRefused(ctx, sd, running)
	if err := e.ReloadIfStale(ctx, sd, running); err != nil {
		return fmt.Errorf("the build succeeded, but %w", errors.Join(err, refused))
	}
	p.Names, p.Rolling, p.OnlyRunning = running, true, true
	err = e.Rollout(ctx, sd, p)
	if errors.Is(err, rollout.ErrLeftRunning) {
		// What --when-empty asked, as after a game update: players are
		// never kicked for a build, and the build itself succeeded.
		fmt.Fprintf(e.Stdout, "left4me: %s; they move to the new version at their next restart\n", strings.TrimPrefix(err.Error(), fail.ErrJobFailed.Error()+": "))
		err = nil
	}
	if err = errors.Join(err, refused); err != nil {
		return fmt.Errorf("the build succeeded, but %w", err)
	}
	return nil
}

func (e *Env) overlayNames(args []string) ([]string, error) {
	if len(args) > 0 {
		for _, a := range args {
			if err := ovbuild.ValidPath(a); err != nil {
				return nil, fmt.Errorf("%w: %v", fail.ErrUsage, err)
			}
		}
		return args, nil
	}
	seen := map[string]bool{}
	for _, n := range e.ovStore().Names() {
		seen[n] = true
	}
	ents, _ := os.ReadDir(ovbuild.DefDir(e.Layout))
	for _, d := range ents {
		if n, ok := strings.CutSuffix(d.Name(), ".yaml"); ok && ovbuild.ValidName(n) == nil {
			seen[n] = true
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// overlayJSON is one overlay as `overlay status --json` prints it.
type overlayJSON struct {
	Name     string               `json:"name"`
	Versions []overlayVersionJSON `json:"versions"`
	Unknown  []string             `json:"unknown_version,omitempty"` // mounted on a version not listed
	// Denied: mounted instances whose tree could not be looked into (not
	// root): which version they run on is not known.
	Denied    []string        `json:"permission_denied,omitempty"`
	LastBuild *ovbuild.Result `json:"last_build,omitempty"`
	DefError  string          `json:"definition_error,omitempty"` // its definition cannot be used
	Error     string          `json:"error,omitempty"`
}

type overlayVersionJSON struct {
	Version string   `json:"version"`
	Current bool     `json:"current"`
	Running []string `json:"running"`
}

func (e *Env) overlayStatus(args []string, asJSON bool) error {
	names, err := e.overlayNames(args)
	if err != nil {
		return err
	}
	st := e.ovStore()
	all := make([]overlayJSON, 0, len(names))
	for _, n := range names {
		o := overlayJSON{Name: n, Versions: []overlayVersionJSON{}}
		// A definition that cannot build is said here, not only when a
		// build (or the update timer's) fails.
		if _, err := os.Lstat(filepath.Join(ovbuild.DefDir(e.Layout), n+".yaml")); err == nil {
			if _, err := ovbuild.LoadDef(e.Layout, n); err != nil {
				o.DefError = err.Error()
			}
		}
		vs, err := st.List(n)
		if err != nil {
			o.Error = err.Error()
			all = append(all, o)
			continue
		}
		uses, err := st.InUse(n, vs, e.overlayUsers(n))
		if err != nil {
			return err
		}
		on := map[string][]string{}
		for _, u := range uses {
			if u.Denied {
				o.Denied = append(o.Denied, u.Instance)
				continue
			}
			on[u.Version] = append(on[u.Version], u.Instance)
		}
		for _, v := range vs {
			o.Versions = append(o.Versions, overlayVersionJSON{Version: v.Name(), Current: v.Current, Running: append([]string{}, on[v.Name()]...)})
		}
		o.Unknown = on[""]
		if r, ok := st.LastResult(n); ok {
			o.LastBuild = &r
		}
		all = append(all, o)
	}
	if asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	for i, o := range all {
		if i > 0 {
			fmt.Fprintln(e.Stdout)
		}
		fmt.Fprintf(e.Stdout, "overlay %s\n", o.Name)
		if o.DefError != "" {
			fmt.Fprintf(e.Stdout, "  definition unusable: %s\n", strings.ReplaceAll(o.DefError, "\n", "\n    "))
		}
		if o.Error != "" {
			fmt.Fprintf(e.Stdout, "  error: %v\n", o.Error)
			continue
		}
		if len(o.Versions) == 0 {
			fmt.Fprintln(e.Stdout, "  no versions (never built)")
		}
		for _, v := range o.Versions {
			cur, running := "", "-"
			if v.Current {
				cur = " (current)"
			}
			if len(v.Running) > 0 {
				running = strings.Join(v.Running, ",")
			}
			fmt.Fprintf(e.Stdout, "  version %s%s  running: %s\n", v.Version, cur, running)
		}
		if len(o.Unknown) > 0 {
			fmt.Fprintf(e.Stdout, "  unknown version: %s\n", strings.Join(o.Unknown, ","))
		}
		if len(o.Denied) > 0 {
			fmt.Fprintf(e.Stdout, "  running: cannot tell which version %s run on (not root: permission denied in %s, which is root's; sudo left4me overlay status)\n",
				strings.Join(o.Denied, ","), e.Layout.RuntimeDir("NAME"))
		}
		if r := o.LastBuild; r != nil {
			// Interrupted or stopped at a limit is not the builder failing.
			res := strings.ReplaceAll(string(r.Outcome), "-", " ")
			how := r.Unit
			if how == "" {
				how = "imported"
			}
			fmt.Fprintf(e.Stdout, "  last build: %s %s at %s (%s): %s\n", r.ID, res, r.Finished.Local().Format(time.DateTime), how, r.Message)
		}
	}
	return nil
}

func (e *Env) overlayImport(ctx context.Context, name, dir string) error {
	if e.Euid != 0 {
		return fmt.Errorf("%w: overlay import writes root-owned state; run: sudo left4me overlay import %s %s", fail.ErrPermission, name, dir)
	}
	if err := ovbuild.ValidPath(name); err != nil {
		return fmt.Errorf("%w: %v", fail.ErrUsage, err)
	}
	st := e.ovStore()
	old, err := st.Import(name, dir, e.namedOverlays(), e.Stdout)
	if err != nil {
		return err
	}
	if old != "" {
		fmt.Fprintf(e.Stdout, "left4me: overlay %s switched; the previous version %s stays until `left4me overlay gc`\n", name, old)
	} else {
		fmt.Fprintf(e.Stdout, "left4me: overlay %s switched in\n", name)
	}
	vs, err := st.List(name)
	if err != nil {
		return err
	}
	uses, err := st.InUse(name, vs, e.overlayUsers(name))
	if err != nil {
		return err
	}
	var stale []string
	for _, u := range uses {
		if u.Version != vs[len(vs)-1].Name() {
			stale = append(stale, u.Instance)
		}
	}
	if len(stale) > 0 {
		fmt.Fprintf(e.Stdout, "left4me: %s run on an earlier version until they restart (left4me restart --when-empty %s)\n", strings.Join(stale, ", "), strings.Join(stale, " "))
	}
	return nil
}

func (e *Env) overlayGC(ctx context.Context, args []string, dry bool) error {
	if e.Euid != 0 && !dry {
		return fmt.Errorf("%w: overlay gc removes root-owned files; run: sudo left4me overlay gc", fail.ErrPermission)
	}
	names, err := e.overlayNames(args)
	if err != nil {
		return err
	}
	res, err := e.ovStore().GC(ctx, names, ovbuild.GCEnv{
		Users: e.overlayUsers,
		LockInstances: func(ctx context.Context) (func(), error) {
			lctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			return versions.Store{Root: e.Layout.Root}.LockInstances(lctx)
		},
	}, dry)
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	for _, r := range res {
		for _, k := range r.Kept {
			fmt.Fprintf(e.Stdout, "keep   %s %s: %s\n", r.Name, k.Version.Name(), k.Reason)
		}
		for _, id := range r.Removed {
			fmt.Fprintf(e.Stdout, "%s %s %s\n", verb, r.Name, id)
		}
	}
	return err
}
