package fail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/left4me/left4me/spec/layout"
)

func TestCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("x"), CodeFailure},
		{fmt.Errorf("a: %w", ErrUsage), CodeUsage},
		{layout.ValidateName("../x"), CodeUsage},
		{fmt.Errorf("a: %w", ErrUnknownInstance), CodeUnknownInstance},
		{fmt.Errorf("a: %w", ErrNoSpecDir), CodeNoSpecDir},
		{fmt.Errorf("a: %w", ErrNoSystemd), CodeNoSystemd},
		{NeedsRoot(fmt.Errorf("w: %w", fs.ErrPermission), "writing"), CodePermission},
		{fmt.Errorf("%w: %w", ErrJobFailed, ErrPermission), CodePermission},
		{fmt.Errorf("a: %w", layout.ErrInvalidSpec), CodeFailure},
	}
	for _, c := range cases {
		if got := Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if err := NeedsRoot(errors.New("other"), "x"); errors.Is(err, ErrPermission) {
		t.Error("NeedsRoot marked a non-permission error")
	}
}

func TestInterrupted(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{context.Canceled, "interrupted"},
		{fmt.Errorf("game update: steamcmd: %w", context.Canceled), "interrupted: game update: steamcmd"},
		{errors.New("interrupted; restarted: a; not restarted (left as they were): b"), "interrupted; restarted: a; not restarted (left as they were): b"},
	} {
		if got, code := Interrupted(tc.err); got != tc.want || code != 130 {
			t.Errorf("%v: %q, %d", tc.err, got, code)
		}
	}
}
