// Package ovbuild builds overlays in a sandbox and keeps their versions:
// the current version of overlay NAME is the real directory
// overlays/NAME (the start helper refuses links there), older ones live in
// overlay-builds/NAME/ID. A build fills overlay-builds/NAME/.build-ID/layer
// and, only when the builder succeeded and the tree passed the checks, is
// swapped with overlays/NAME by one renameat2(RENAME_EXCHANGE). A running
// instance keeps the directory it mounted (the kernel holds it, not the
// path); the next start opens the new one.
package ovbuild

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/left4me/left4me/cmd/left4me/internal/safepath"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
	"github.com/left4me/left4me/spec/specfile"
)

// Definition is /etc/left4me/overlays/NAME.yaml.
type Definition struct {
	Name    string        `yaml:"-"`
	File    string        `yaml:"-"`
	Builder string        `yaml:"builder"`           // the script; relative to the definition's directory
	Restart []string      `yaml:"restart,omitempty"` // instances restarted (if running) after a build
	Timeout time.Duration `yaml:"timeout,omitempty"` // default 30m
	Memory  string        `yaml:"memory_max,omitempty"`
	Tasks   int           `yaml:"tasks_max,omitempty"`
}

// Defaults for a definition's limits.
const (
	DefaultTimeout = 30 * time.Minute
	DefaultMemory  = "2G"
	DefaultTasks   = 512
	maxDefSize     = 64 << 10
)

// DefDir is CONFIG/overlays.
func DefDir(l layout.Layout) string { return l.OverlayDefs() }

// ValidName checks an overlay name: the instance name rule, so that it is
// one path component below overlays/ and part of a unit name.
func ValidName(name string) error {
	if err := layout.ValidateName(name); err != nil {
		return nameError{err}
	}
	return nil
}

// ValidPath checks the name of an overlay that is imported rather than
// built: any overlay path a spec may name (workshop/maps), short enough
// for its version marker to be one file name.
func ValidPath(name string) error {
	if msg := layout.ValidateOverlayPath(name); msg != "" {
		return fmt.Errorf("invalid overlay path %q: %s", name, msg)
	}
	for _, c := range strings.Split(name, "/") {
		if strings.HasPrefix(c, MarkerPrefix) {
			return fmt.Errorf("invalid overlay path %q: %s is the name of a version marker", name, c)
		}
	}
	if len(Marker(name)) > 255 {
		return fmt.Errorf("invalid overlay path %q: longer than %d characters", name, 255-len(MarkerPrefix))
	}
	return nil
}

// nameError is the instance name rule's error, said of an overlay.
type nameError struct{ err error }

func (e nameError) Error() string {
	return "invalid overlay name" + strings.TrimPrefix(e.err.Error(), layout.ErrInvalidName.Error())
}
func (e nameError) Unwrap() error { return e.err }

// LoadDef reads CONFIG/overlays/NAME.yaml.
func LoadDef(l layout.Layout, name string) (*Definition, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	file := filepath.Join(DefDir(l), name+".yaml")
	// As a spec: never through a link, never a FIFO or device.
	data, err := specfile.Read(file)
	if err != nil {
		return nil, fmt.Errorf("overlay definition: %w", err)
	}
	d, err := ParseDef(name, file, data)
	if err != nil {
		return nil, err
	}
	// Said before a build is announced and recorded as failed.
	if st, err := os.Stat(d.Builder); err != nil {
		return nil, fmt.Errorf("%s: builder: %w (the script that fills the layer)", file, err)
	} else if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: builder: %s is not a regular file (the script that fills the layer)", file, d.Builder)
	}
	if err := trust(d); err != nil {
		return nil, err
	}
	return d, nil
}

// trust refuses, when we run as root, a definition or builder that others
// could change (safepath.Check). The builder runs sandboxed as the build
// user, but what it puts in the layer reaches every server that mounts
// the overlay: whoever could change either would ship code into them.
func trust(d *Definition) error {
	if os.Geteuid() != 0 {
		return nil // not root: no build, nothing a user could not do anyway
	}
	if _, err := safepath.Check(d.File); err != nil {
		return fmt.Errorf("overlay definition refused: %w", err)
	}
	if _, err := safepath.Check(d.Builder); err != nil {
		return fmt.Errorf("%s: builder refused: %w", d.File, err)
	}
	return nil
}

// ParseDef parses a definition; file is for messages. Every problem is
// said at once, at its line and column, as in a spec.
func ParseDef(name, file string, data []byte) (*Definition, error) {
	if len(data) > maxDefSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxDefSize)
	}
	d := &Definition{Name: name, File: file}
	f, err := spec.DecodeFile(file, data, d)
	errs := []error{err}
	if d.Builder == "" {
		errs = append(errs, f.At("builder", "required (the script that fills the layer, relative to %s)", filepath.Dir(file)))
	} else if !filepath.IsAbs(d.Builder) {
		d.Builder = filepath.Join(filepath.Dir(file), d.Builder)
	}
	for _, r := range d.Restart {
		if err := layout.ValidateName(r); err != nil {
			errs = append(errs, f.At("restart", "%v", err))
		}
	}
	if d.Timeout == 0 {
		d.Timeout = DefaultTimeout
	} else if d.Timeout < time.Second {
		errs = append(errs, f.At("timeout", "%v is less than 1s", d.Timeout))
	}
	if d.Memory == "" {
		d.Memory = DefaultMemory
	} else if !validSize(d.Memory) {
		errs = append(errs, f.At("memory_max", "%q is not a size such as 512M or 2G", d.Memory))
	}
	if d.Tasks == 0 {
		d.Tasks = DefaultTasks
	} else if d.Tasks < 1 {
		errs = append(errs, f.At("tasks_max", "must be at least 1"))
	}
	if err := spec.JoinByLine(errs...); err != nil {
		return nil, err
	}
	return d, nil
}

func validSize(s string) bool {
	n := len(s)
	if n > 1 && bytes.ContainsAny([]byte{s[n-1]}, "KMGT") {
		s = s[:n-1]
	}
	if s == "" || len(s) > 15 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
