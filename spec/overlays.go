package spec

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/left4me/left4me/spec/layout"
)

// overlays accepts both forms the web front end writes: a bare string
// ("workshop/maps") and a mapping ({path: competitive, alias: overlay_12}).
func (p *parser) overlays(v *yaml.Node) []Overlay {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.add(v, "overlays", "must be a list, got %s", describe(v))
		return nil
	}
	if len(v.Content) > MaxOverlays {
		p.add(v, "overlays", "%d overlays; at most %d are supported", len(v.Content), MaxOverlays)
		return nil
	}
	var out []Overlay
	paths := map[string]int{}
	aliases := map[string]int{}
	for i, item := range v.Content {
		field := "overlays[" + strconv.Itoa(i) + "]"
		o, ok := p.overlay(item, field)
		if !ok {
			continue
		}
		p.overlayPos = append(p.overlayPos, [2]int{item.Line, item.Column})
		if j, dup := paths[o.Path]; dup {
			p.add(item, field+".path", "%q is already listed as overlays[%d]", o.Path, j)
			continue
		}
		paths[o.Path] = i
		if o.Alias != "" {
			if j, dup := aliases[o.Alias]; dup {
				p.add(item, field+".alias", "%q is already used by overlays[%d]", o.Alias, j)
				continue
			}
			aliases[o.Alias] = i
		}
		out = append(out, o)
	}
	return out
}

func (p *parser) overlay(item *yaml.Node, field string) (Overlay, bool) {
	var o Overlay
	switch item.Kind {
	case yaml.ScalarNode:
		s, ok := p.scalarText(item, field)
		if !ok {
			return o, false
		}
		o.Path = s
		if msg := layout.ValidateOverlayPath(s); msg != "" {
			p.add(item, field, "%s", msg)
			return o, false
		}
		return o, true
	case yaml.MappingNode:
	default:
		p.add(item, field, "must be a path or {path: ..., alias: ...}, got %s", describe(item))
		return o, false
	}
	ok := true
	var pathNode *yaml.Node
	skip := p.duplicates(item, field+".")
	for i := 0; i+1 < len(item.Content); i += 2 {
		k, val := item.Content[i], item.Content[i+1]
		f := field + "." + k.Value
		if skip[i] {
			ok = false
			continue
		}
		switch k.Value {
		case "path":
			pathNode = val
			s, good := p.scalarText(val, f)
			if good {
				if msg := layout.ValidateOverlayPath(s); msg != "" {
					p.add(val, f, "%s", msg)
					good = false
				}
			}
			o.Path, ok = s, ok && good
		case "alias":
			if val.Kind == yaml.ScalarNode && val.Tag == "!!null" {
				continue // alias: (empty) means no alias, as the web front end may write it
			}
			s, good := p.scalarText(val, f)
			if msg := layout.ValidateAlias(s); good && msg != "" {
				p.add(val, f, "%s", msg)
				good = false
			}
			o.Alias, ok = s, ok && good
		default:
			p.unknownKey(k, f, KnownKeys()[OverlayKeys])
			ok = false
		}
	}
	if pathNode == nil {
		p.add(item, field+".path", "required")
		return o, false
	}
	return o, ok
}

// validArgument refuses control characters (tab excepted): a newline would
// end a line of server.cfg or of the generated unit.
func validArgument(s string) string {
	if len(s) > MaxLineLen {
		return fmt.Sprintf("longer than %d bytes", MaxLineLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Sprintf("contains the control character %q (a NUL, newline or other non-printable byte)", rune(c))
		}
	}
	return ""
}

// validConfigLine: a line must stay one line of server.cfg.
func validConfigLine(s string) string { return validArgument(s) }
