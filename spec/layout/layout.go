// Package layout says where left4me's files live (specs under the config
// directory, game, overlays and instance trees under the state root) and
// holds the instance name rule every path is built from. It imports nothing
// heavy: the helpers that run before every server start link it.
package layout

import (
	"os"
	"path/filepath"
)

// Default locations; LEFT4ME_CONFIG_DIR and LEFT4ME_ROOT override them.
const (
	DefaultConfigDir = "/etc/left4me"
	DefaultRoot      = "/var/lib/left4me"
)

// Layout says where specs and state live. Every path the project touches is
// derived from it, so tests inject a Layout instead of touching /etc or /var.
type Layout struct {
	ConfigDir string // holds instances/NAME.yaml
	Root      string // holds installation/, overlays/, runtime/
}

// FromEnv applies the LEFT4ME_CONFIG_DIR / LEFT4ME_ROOT overrides.
func FromEnv() Layout {
	l := Layout{ConfigDir: DefaultConfigDir, Root: DefaultRoot}
	if v := os.Getenv("LEFT4ME_CONFIG_DIR"); v != "" {
		l.ConfigDir = filepath.Clean(v)
	}
	if v := os.Getenv("LEFT4ME_ROOT"); v != "" {
		l.Root = filepath.Clean(v)
	}
	return l
}

// InstancesDir is the directory of spec files.
func (l Layout) InstancesDir() string { return filepath.Join(l.ConfigDir, InstancesName) }

// SpecPath is the spec file of an instance whose name was validated.
func (l Layout) SpecPath(name string) string {
	return filepath.Join(l.InstancesDir(), name+".yaml")
}

// Unit is the systemd unit of an instance, l4d2@NAME.service.
func Unit(name string) string { return "l4d2@" + name + ".service" }

// DiskUnit stops the instances over their disk ceilings (left4me-disk.timer).
const DiskUnit = "left4me-disk.service"

// AlertUnit tells the operator what happened to an instance,
// left4me-alert@NAME.service.
func AlertUnit(name string) string { return "left4me-alert@" + name + ".service" }

// RuntimeRoot is runtime/, which holds one directory per instance.
func (l Layout) RuntimeRoot() string { return filepath.Join(l.Root, RuntimeName) }

// RuntimeDir is runtime/NAME, the instance's own tree (package
// prestart/rundir owns what is in it).
func (l Layout) RuntimeDir(name string) string { return filepath.Join(l.RuntimeRoot(), name) }

// Names of the parts of runtime/NAME (package prestart/rundir works on
// them; the unit template and the CLI name them through here).
const (
	Upper  = "upper"  // the server's writes; the instance's data
	Work   = "work"   // overlayfs's work directory
	Merged = "merged" // where the overlay is mounted
	Dumps  = "dumps"  // crash minidumps (bound on /tmp/dumps in the unit)
	Layers = "layers" // idmapped layers attached while mounting (old kernels)
	// Record names the installation the last start mounted
	// ("installations/ID", or "installation" for a plain directory): the
	// mount itself only shows /proc/self/fd paths.
	Record = "installation"
	// Usage is what the upper layer and dumps held when last measured (by
	// a start or left4me-disk.timer): "BYTES UNIXTIME", for list and
	// status, which would otherwise walk every upper layer.
	Usage = "usage"
	// Ports is the port set the last start was given ("ROLE PORT"
	// lines, startplan.FormatPorts): while the server runs it holds them
	// against every spec (spec.ClaimPorts).
	Ports = "ports"
	// Ceiling is the disk ceiling (bytes, 0: none) the last start was
	// given: left4me-disk.timer holds a running server to it, not to a
	// spec changed since, as the start's other limits hold until the next
	// (startplan.Limits).
	Ceiling = "ceiling"
	// Stopped is the run (INVOCATION_ID) of the last server that ended
	// while PID 1 stopped or restarted it as asked (a stop or restart
	// job), written by the stop helper: left4me retry leaves a server
	// whose stop failed down, without relying on the journal keeping
	// PID 1's "Stopping" entry.
	Stopped = "stopped"
)

// RuntimePart is one part of runtime/NAME (Upper, Merged, …).
func (l Layout) RuntimePart(name, part string) string {
	return filepath.Join(l.RuntimeDir(name), part)
}

// MergedDir is where the instance's overlayfs is mounted.
func (l Layout) MergedDir(name string) string { return l.RuntimePart(name, Merged) }
