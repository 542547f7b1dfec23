package layout

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := []string{"a", "srv1", "My_Server-2", strings.Repeat("x", MaxNameLen)}
	bad := []string{"", ".", "..", "-a", "_a", "a/b", "../x", "a.b", "a b", "a\nb", "a\x00", "ä", "a:b", "a@b",
		strings.Repeat("x", MaxNameLen+1)}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidateName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q accepted (err %v)", n, err)
		}
	}
}
