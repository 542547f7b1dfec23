// Package specedit writes and edits spec files for the CLI: new specs from
// `left4me create`, and the autostart flip of enable/disable, which changes
// only the bytes of that one value so comments and layout stay as written.
package specedit

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/left4me/left4me/cmd/left4me/internal/fail"
	"github.com/left4me/left4me/spec"
	"github.com/left4me/left4me/spec/layout"
)

// New is what `left4me create` puts into a spec.
type New struct {
	Port      int
	Autostart bool
	Overlays  []spec.Overlay // top-most first
	Config    []string
	Arguments []string
}

// ParseOverlay reads the --overlay form PATH[=ALIAS].
func ParseOverlay(s string) (spec.Overlay, error) {
	path, alias, _ := strings.Cut(s, "=")
	if msg := layout.ValidateOverlayPath(path); msg != "" {
		return spec.Overlay{}, fmt.Errorf("%w: --overlay %q: %s", fail.ErrUsage, s, msg)
	}
	if strings.Contains(s, "=") && alias == "" {
		return spec.Overlay{}, fmt.Errorf("%w: --overlay %q: empty alias; write PATH or PATH=ALIAS", fail.ErrUsage, s)
	}
	if msg := layout.ValidateAlias(alias); alias != "" && msg != "" {
		return spec.Overlay{}, fmt.Errorf("%w: --overlay %q: alias %s", fail.ErrUsage, s, msg)
	}
	return spec.Overlay{Path: path, Alias: alias}, nil
}

// Render returns the spec file for instance name. The result is checked by
// spec.Parse, the generator's own parser, so create never writes a spec the
// generator would skip.
func Render(name string, n New) ([]byte, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, v *yaml.Node) {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	}
	add("port", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(n.Port)})
	add("autostart", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(n.Autostart)})
	if len(n.Overlays) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, o := range n.Overlays {
			seq.Content = append(seq.Content, overlayNode(o))
		}
		add("overlays", seq)
	}
	if len(n.Config) > 0 {
		add("config", strs(n.Config))
	}
	if len(n.Arguments) > 0 {
		add("arguments", strs(n.Arguments))
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{m},
		HeadComment: "left4me instance " + name + ", written by `left4me create`.\nOverlays are listed top-most first; see `left4me render " + name + "`."}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode spec: %w", err)
	}
	if _, err := spec.Parse(name+".yaml", b.Bytes()); err != nil {
		return nil, fmt.Errorf("%w: %s", fail.ErrUsage, describe(err))
	}
	return b.Bytes(), nil
}

func overlayNode(o spec.Overlay) *yaml.Node {
	path := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: o.Path}
	if o.Alias == "" {
		return path
	}
	return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "path"}, path,
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "alias"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: o.Alias},
	}}
}

func strs(items []string) *yaml.Node {
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range items {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
	}
	return seq
}

// describe lists the parser's problems by field only: line numbers of a
// file that was never written would mean nothing to the operator.
func describe(err error) string {
	var parts []string
	for _, e := range unjoin(err) {
		var se *spec.Error
		if errors.As(e, &se) && se.Field != "" {
			parts = append(parts, se.Field+": "+se.Msg)
		} else {
			parts = append(parts, e.Error())
		}
	}
	return strings.Join(parts, "; ")
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
