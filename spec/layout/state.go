package layout

import "path/filepath"

// Names below the state root (Root) and the config dir (ConfigDir). Every
// path of either is spelled here once; the packages that work on them
// (prestart, versions, ovbuild, backup, game) build theirs from these.
const (
	RuntimeName       = "runtime"        // runtime/NAME: an instance's tree (package prestart/rundir)
	InstallationLink  = "installation"   // the current game installation, the start helper's bottom layer
	InstallationsName = "installations"  // installations/ID: the game's versions (package versions)
	OverlaysName      = "overlays"       // overlays/NAME: an overlay's current version; CONFIG/overlays: their definitions
	OverlayBuildsName = "overlay-builds" // overlay-builds/NAME/ID: older overlay versions (package ovbuild)
	SteamcmdName      = "steamcmd"       // steamcmd's HOME: its files and a cached login, root's
	BackupsName       = "backups"        // backups/NAME: an instance's backups, root's, 0700
	InstancesName     = "instances"      // CONFIG/instances/NAME.yaml: the specs
)

// Installation is the current game installation (a link to
// installations/ID, or a plain directory).
func (l Layout) Installation() string { return filepath.Join(l.Root, InstallationLink) }

// Installations holds the game's versions.
func (l Layout) Installations() string { return filepath.Join(l.Root, InstallationsName) }

// Overlays holds each overlay's current version.
func (l Layout) Overlays() string { return filepath.Join(l.Root, OverlaysName) }

// Overlay is overlay path's current version (path was validated:
// ValidateOverlayPath).
func (l Layout) Overlay(path string) string { return filepath.Join(l.Overlays(), path) }

// OverlayBuilds holds the older versions of every overlay.
func (l Layout) OverlayBuilds() string { return filepath.Join(l.Root, OverlayBuildsName) }

// OverlayDefs is CONFIG/overlays, the overlays' definitions.
func (l Layout) OverlayDefs() string { return filepath.Join(l.ConfigDir, OverlaysName) }

// SteamHome is steamcmd's HOME below the state root.
func (l Layout) SteamHome() string { return filepath.Join(l.Root, SteamcmdName) }

// Backups is backups/NAME, instance name's backups.
func (l Layout) Backups(name string) string { return filepath.Join(l.Root, BackupsName, name) }
