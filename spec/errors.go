package spec

import (
	"errors"
	"fmt"

	"github.com/left4me/left4me/spec/layout"
)

// Sentinel errors, matched with errors.Is by the generator, helpers and CLI.
var (
	ErrPortConflict = errors.New("port already used by another instance")
	// ErrUserConflict: two long instance names whose server users hash
	// alike (layout.ServerUser); the newer spec is refused.
	ErrUserConflict = errors.New("server user already used by another instance")
	ErrNoSpec       = errors.New("no such instance spec")
)

// Error is one problem in one spec file, located as precisely as the YAML
// allows. Its text is "FILE:LINE:COL: FIELD: MSG", the form editors and
// `left4me validate` understand.
type Error struct {
	File   string
	Line   int // 1-based; 0 when the problem is the file as a whole
	Column int
	Field  string // e.g. "overlays[1].alias"; empty for file-level problems
	Msg    string
	kind   error
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Column)
	}
	if e.Field == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Field + ": " + e.Msg
}

// Unwrap lets errors.Is(err, layout.ErrInvalidSpec) (or ErrPortConflict)
// match.
func (e *Error) Unwrap() error {
	if e.kind != nil {
		return e.kind
	}
	return layout.ErrInvalidSpec
}
