// Package game installs and updates the shared game installation as
// versions (see package versions): steamcmd runs into a new version built
// over the current one, the result is validated, and only then does
// `installation` switch to it. It also reports the versions and removes
// those no instance runs on.
package game

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/steamcmd"
	"github.com/left4me/left4me/cmd/left4me/internal/versions"
	"github.com/left4me/left4me/spec/layout"
)

// SteamHome is steamcmd's HOME below the state root: its own files and a
// cached login, private to root.
func SteamHome(root string) string { return layout.Layout{Root: root}.SteamHome() }

// Config is what Update needs besides the request.
type Config struct {
	Store  versions.Store
	Steam  steamcmd.Config
	Now    func() time.Time
	Out    io.Writer    // step messages
	OnLine func(string) // steamcmd's output, password already removed
	// RetryWait is how long to wait before retry n (1, 2, ...) of a
	// download that stopped short; nil: DefaultRetryWait.
	RetryWait func(n int) time.Duration
}

// MaxRetries bounds the retries of a download that stopped short
// (steamcmd.Result.Transient); LinuxGSM's core_dl.sh gives up after ten.
const MaxRetries = 5

// DefaultRetryWait doubles from 2s: 2, 4, 8, 16, 32 seconds, about a
// minute in all before the update gives up.
func DefaultRetryWait(n int) time.Duration { return 2 * time.Second << (n - 1) }

// Request is one install or update.
type Request struct {
	Install  bool // a first install: refused when there is an installation
	Login    string
	Password string
	// GuardCode answers Steam Guard at a first login with Login.
	GuardCode string
	Validate  bool
	// Force keeps the new version even when the build did not change.
	Force bool
}

// Outcome is what an update did.
type Outcome struct {
	ID       string // the new current version; "" when up to date
	Build    string
	Previous string // the version it replaced (Version.Name), "" if none
	Migrated string // the ID an unversioned installation got
	UpToDate bool
}

// ErrExists is returned by an install over an existing installation.
var ErrExists = errors.New("the game is installed already")

// ErrNotInstalled is returned by an update without an installation.
var ErrNotInstalled = errors.New("the game is not installed")

// Update runs steamcmd into a new version over the current installation
// and makes it current once it validates. On any failure, including a
// cancelled ctx, the new version is removed and `installation` is
// untouched.
func Update(ctx context.Context, c Config, r Request) (Outcome, error) {
	var out Outcome
	release, err := c.Store.Lock()
	if err != nil {
		return out, err
	}
	defer release()
	if cleaned, err := c.Store.CleanStale(); err != nil {
		return out, err
	} else if len(cleaned) > 0 {
		c.step("removed %d leftover(s) of an interrupted update or gc", len(cleaned))
	}
	cur, err := c.Store.Current()
	if err != nil {
		return out, err
	}
	switch {
	case r.Install && !cur.None():
		return out, fmt.Errorf("%w: %s; use `left4me game update`", ErrExists, describe(cur))
	case !r.Install && cur.None():
		return out, fmt.Errorf("%w: there is no %s; use `left4me game install`", ErrNotInstalled, c.Store.LinkPath())
	}
	var prev steamcmd.Manifest
	if !cur.None() {
		out.Previous = versionName(cur)
		prev, _ = steamcmd.ReadManifest(cur.Path)
	}
	st, err := c.Store.NewStage(cur.Path)
	if err != nil {
		return out, err
	}
	committed := false
	defer func() {
		if !committed {
			if aerr := st.Abort(); aerr != nil {
				c.step("cleanup: %v", aerr)
			}
		}
	}()
	// The windows-first workaround of "Invalid platform" only where it is
	// needed: a first anonymous install. On an existing Linux installation
	// it would fetch the Windows binaries and have the linux validate pass
	// rewrite every Linux file; an update tries linux first and falls back
	// to the workaround only on "Invalid platform" (runSteamcmd).
	job := steamcmd.Job{InstallDir: st.Target, Login: r.Login, Password: r.Password, GuardCode: r.GuardCode,
		WindowsFirst: r.Login == "" && cur.None(), Validate: r.Validate}
	if cur.None() {
		c.step("installing app %d into a new version (%s)...", steamcmd.AppID, describeJob(job))
	} else {
		c.step("updating app %d into a new version over %s, which stays untouched (%s)...", steamcmd.AppID, out.Previous, describeJob(job))
	}
	if err := c.runSteamcmd(ctx, &job); err != nil {
		return out, c.unchanged(cur, err)
	}
	if err := st.Finish(); err != nil {
		return out, c.unchanged(cur, fmt.Errorf("build the new version: %w", err))
	}
	if n, err := versions.DropWindowsOnly(st.Upper); err != nil {
		return out, c.unchanged(cur, err)
	} else if n > 0 {
		c.step("left out %d Windows-only file(s) (.exe, .dll) the windows pass brought", n)
	}
	m, err := Validate(st.Upper)
	if err != nil {
		return out, c.unchanged(cur, fmt.Errorf("steamcmd reported success, but the result is not a complete installation: %w", err))
	}
	out.Build = m.BuildID
	if !cur.None() && prev.BuildID == m.BuildID && !r.Force {
		out.UpToDate = true
		c.step("build %s is installed already (%s): nothing to switch", m.BuildID, out.Previous)
		return out, nil
	}
	id := c.Store.NewID(m.BuildID, c.Now())
	if _, err := st.Publish(id); err != nil {
		return out, c.unchanged(cur, err)
	}
	committed = true
	migrated, err := c.Store.Switch(id)
	if err != nil {
		return out, fmt.Errorf("version %s is complete but %s could not be switched to it: %w", id, c.Store.LinkPath(), err)
	}
	out.ID, out.Migrated = id, migrated
	if migrated != "" {
		c.step("the unversioned installation became version %s", migrated)
	}
	c.step("%s -> %s/%s (build %s)", c.Store.LinkPath(), versions.Dir, id, m.BuildID)
	return out, nil
}

// describeJob says how steamcmd logs in and which platform passes run.
func describeJob(j steamcmd.Job) string {
	who := "anonymous"
	if j.Login != "" {
		who = "account " + j.Login
		if j.Password == "" {
			who += ", cached login"
		}
	}
	if j.WindowsFirst {
		return who + ", windows platform first, then linux with validate"
	}
	if j.Validate {
		return who + ", with validate"
	}
	return who
}

func (c Config) step(format string, args ...any) {
	if c.Out != nil {
		fmt.Fprintf(c.Out, format+"\n", args...)
	}
}

// runSteamcmd runs the job. Anonymous Linux downloads of 222860 fail with
// "Invalid platform"; an account that meets it gets one retry with the
// windows-first workaround.
func (c Config) runSteamcmd(ctx context.Context, job *steamcmd.Job) error {
	retries := 0
	for {
		script, err := job.Script()
		if err != nil {
			return err
		}
		res, err := steamcmd.Run(ctx, c.Steam, script, job.Password, c.OnLine)
		if err == nil && !res.Success {
			err = fmt.Errorf("steamcmd exited 0 without reporting success: %s", res.Summary())
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			// Stopped as it failed (steamcmd's exit and the stop raced):
			// the stop is what the operator asked for and hears of.
			return fmt.Errorf("steamcmd stopped: %w", ctx.Err())
		}
		switch {
		case res.DiskFull():
			// A retry would only fill the disk again.
			return fmt.Errorf("%w\nnot enough disk space for the download (steamcmd state %s): free space on the filesystem of %s, then update again", err, res.State, c.Store.Root)
		case res.NoSubscription:
			return fmt.Errorf("%w\nthe Steam account has no license for app %d (No subscription): log in with an account that owns it (--login ACCOUNT)", err, steamcmd.AppID)
		case res.InvalidPlatform && !job.WindowsFirst:
			c.step("steamcmd says \"Invalid platform\": retrying with the windows platform first, then linux")
			job.WindowsFirst = true
			continue
		case res.Transient() && retries < MaxRetries:
			retries++
			wait := DefaultRetryWait(retries)
			if c.RetryWait != nil {
				wait = c.RetryWait(retries)
			}
			c.step("steamcmd stopped before the download completed (state %s): retry %d of %d in %v, resuming in the same directory", res.State, retries, MaxRetries, wait)
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				// Stopped while waiting: the stop is what the operator
				// asked for (the failure was said in the step above).
				t.Stop()
				return fmt.Errorf("steamcmd stopped: %w", ctx.Err())
			}
			continue
		}
		if res.Transient() {
			return fmt.Errorf("%w\ngave up after %d retries", err, MaxRetries)
		}
		return err
	}
}

// unchanged adds to err that the installation is as it was.
func (c Config) unchanged(cur versions.Current, err error) error {
	if cur.None() {
		return fmt.Errorf("%w\nnothing was installed", err)
	}
	return fmt.Errorf("%w\nnothing was changed: %s", err, describe(cur))
}

func describe(cur versions.Current) string {
	if cur.Legacy {
		return cur.Path + " is an unversioned installation"
	}
	return "installation -> " + versions.Dir + "/" + cur.ID
}

func versionName(cur versions.Current) string {
	if cur.Legacy {
		return versions.Version{Legacy: true}.Name()
	}
	return cur.ID
}

// Validate checks that dir is a complete installation: a manifest of app
// 222860 in state "fully installed", srcds_run and the game directory.
func Validate(dir string) (steamcmd.Manifest, error) {
	m, err := steamcmd.ReadManifest(dir)
	if err != nil {
		return m, err
	}
	if err := m.Check(); err != nil {
		return m, err
	}
	st, err := os.Stat(filepath.Join(dir, "srcds_run"))
	switch {
	case err != nil:
		return m, fmt.Errorf("no srcds_run: %w", err)
	case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
		return m, fmt.Errorf("srcds_run is not an executable file (%v)", st.Mode())
	}
	if st, err := os.Stat(filepath.Join(dir, "left4dead2")); err != nil || !st.IsDir() {
		return m, fmt.Errorf("no left4dead2 directory")
	}
	return m, nil
}
