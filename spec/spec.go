// Package spec parses and validates instance specs
// (/etc/left4me/instances/NAME.yaml) and holds the rules every other part of
// left4me shares: instance names, overlay paths and where things live.
package spec

import (
	"net/netip"
	"time"

	"github.com/left4me/left4me/spec/specfile"
	"github.com/left4me/left4me/spec/startplan"
)

// Defaults of the optional keys.
const (
	DefaultStartTimeout = 300 * time.Second // a first map load may take minutes (issue 24)
	DefaultHangTimeout  = 60 * time.Second
)

// Spec is one instance's desired state.
type Spec struct {
	Port int // the game port; Ports has the whole set
	// Ports is every port the server binds: port:, then ports: or the
	// default rule (see DefaultPort).
	Ports     Ports
	Autostart bool // default false: an instance starts at boot only when asked
	Arguments []string
	// IP is the address the server binds (its -ip or +ip argument);
	// invalid (the zero Addr) when it listens on every address.
	IP       netip.Addr
	Config   []string
	Overlays []Overlay // first = top-most layer
	// StartTimeout bounds a start until the server answers A2S_INFO.
	StartTimeout time.Duration
	// HangTimeout: a running server silent this long is restarted; 0 = never.
	HangTimeout time.Duration
	Resources   Resources
	Schedule    Schedule // timers (schedule.go)
	Backups     Backups  // retention of its backups
	// Warnings are legal settings that probably do not do what the
	// operator wants (*Error, located like errors); `left4me validate`
	// prints them.
	Warnings []error

	raw               []byte              // the file's bytes, for the start plan
	portLine, portCol int                 // where port: stands, for cross-spec errors
	portPos           map[PortRole][2]int // where each port of Ports stands (port: for defaults)
	portDefault       map[PortRole]bool   // the ports the default rule chose
	overlayPos        [][2]int            // line, column of each overlay entry
}

// Overlay is one mod layer under the state root's overlays/ directory.
type Overlay struct {
	Path  string // relative to overlays/, validated by ValidateOverlayPath
	Alias string // optional; its server.cfg is staged as server_ALIAS.cfg
}

// OverlayPosition is where overlays[i] stands in the spec file, for errors
// found after parsing (a missing overlay directory); 0, 0 when unknown.
func (s *Spec) OverlayPosition(i int) (line, column int) {
	if i < 0 || i >= len(s.overlayPos) {
		return 0, 0
	}
	return s.overlayPos[i][0], s.overlayPos[i][1]
}

// Limits that keep the mount option string and staged files bounded.
const (
	MaxOverlays = 100
	MaxLineLen  = 4096
	MaxItems    = 1024 // config lines or arguments
	MaxErrors   = 20   // problems reported per spec; the rest are counted
	// MaxConfigBytes bounds the staged server.cfg, and with the spec's
	// own bytes each start plan the generator writes to /run.
	MaxConfigBytes = 256 << 10
	MaxSpecSize    = specfile.MaxSize
)

// HostPlan is the plan of a spec that sets no resources, under the host's
// ceilings l: the disk ceiling and log bounds left4me-disk.timer applies
// to a server still running after its spec was removed (an orphan).
func HostPlan(l Limits) startplan.Plan {
	var s Spec
	s.BindLimits(l)
	p := startplan.Plan{Disk: s.Resources.DiskBytes()}
	p.LogDays, p.LogBytes = s.Resources.LogBounds()
	return p
}

// StartPlan is what the start helper needs from s (see package startplan).
func (s *Spec) StartPlan() startplan.Plan {
	p := startplan.Plan{Spec: s.raw, Config: s.Config, Disk: s.Resources.DiskBytes(), Limits: s.Resources.Limits()}
	p.LogDays, p.LogBytes = s.Resources.LogBounds()
	for _, o := range s.Overlays {
		p.Overlays = append(p.Overlays, startplan.Overlay{Path: o.Path, Alias: o.Alias})
	}
	for _, rp := range s.Ports.List() {
		p.Ports = append(p.Ports, startplan.Port{Role: string(rp.Role), Port: rp.Port})
	}
	return p
}
