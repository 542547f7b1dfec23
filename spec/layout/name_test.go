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

func TestServerUser(t *testing.T) {
	long := strings.Repeat("x", MaxNameLen)
	for _, tc := range []struct{ name, want string }{
		{"srv1", "l4d2-srv1"},
		{"My_Server-2", "l4d2-My_Server-2"},
		{strings.Repeat("a", 26), "l4d2-" + strings.Repeat("a", 26)},
	} {
		if got := ServerUser(tc.name); got != tc.want {
			t.Errorf("ServerUser(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Long names: bounded, valid for systemd, and apart when they differ
	// only after the kept prefix.
	seen := map[string]string{}
	for _, n := range []string{strings.Repeat("a", 27), strings.Repeat("a", 28), long, long[:63] + "y", long[:40] + "-z"} {
		u := ServerUser(n)
		if len(u) > 31 || !strings.HasPrefix(u, "l4d2-") {
			t.Errorf("ServerUser(%q) = %q: longer than 31 or no prefix", n, u)
		}
		for i := 0; i < len(u); i++ {
			if !IsWordByte(u[i]) && u[i] != '-' {
				t.Errorf("ServerUser(%q) = %q: byte %q", n, u, u[i])
			}
		}
		if o, ok := seen[u]; ok {
			t.Errorf("%q and %q share the user %q", o, n, u)
		}
		seen[u] = n
	}
}
