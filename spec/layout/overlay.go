package layout

import (
	"fmt"
	"strings"
)

// Limits of the names that become paths and file names.
const (
	MaxPathLen  = 255
	MaxAliasLen = 64
)

// ValidateOverlayPath checks an overlay path as written in a spec and
// returns what is wrong, or "". A valid path is relative, has no empty, "."
// or ".." component and uses only [A-Za-z0-9._-] and "/", so it can only
// name something below overlays/ (the helpers still refuse symlinks there).
func ValidateOverlayPath(s string) string {
	switch {
	case s == "":
		return "empty overlay path"
	case len(s) > MaxPathLen:
		return fmt.Sprintf("overlay path longer than %d characters", MaxPathLen)
	case strings.HasPrefix(s, "/"):
		return fmt.Sprintf("%q is absolute; overlay paths are relative to overlays/", s)
	}
	for _, c := range strings.Split(s, "/") {
		switch c {
		case "":
			return fmt.Sprintf("%q has an empty path component", s)
		case ".", "..":
			return fmt.Sprintf("%q has a %q component; overlay paths must stay below overlays/", s, c)
		}
		for i := 0; i < len(c); i++ {
			if b := c[i]; !IsWordByte(b) && b != '-' && b != '.' {
				return fmt.Sprintf("%q has a forbidden character %q; allowed are A-Z a-z 0-9 . _ - /", s, rune(b))
			}
		}
	}
	return ""
}

// ValidateAlias checks an overlay alias and returns what is wrong, or "".
// An alias names the file server_ALIAS.cfg, so it is one plain word.
func ValidateAlias(s string) string {
	if !ValidWord(s) || len(s) > MaxAliasLen {
		return fmt.Sprintf("%q must be 1..%d characters from [A-Za-z0-9_]", s, MaxAliasLen)
	}
	return ""
}
