package layout

import (
	"errors"
	"fmt"
)

// The sentinel errors every part of left4me shares (the generator, the
// helpers, the CLI), matched with errors.Is. They live here because every
// part links this package, the helpers included.
var (
	ErrInvalidName = errors.New("invalid instance name")
	// ErrInvalidSpec: a spec file that cannot be used as it is.
	ErrInvalidSpec = errors.New("invalid spec")
)

// MaxNameLen keeps unit names, paths and mount options short and bounded.
const MaxNameLen = 64

// ValidateName checks an instance name. The rule is the same for the
// generator, the helpers and the CLI: 1 to 64 characters from
// [A-Za-z0-9_-], starting with a letter or digit. Such a name is one path
// component that can never be "." or "..", needs no escaping in a systemd
// unit name (%i == %I) and holds nothing that a mount option would split on.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidName, name, MaxNameLen)
	case !IsAlnum(name[0]):
		return fmt.Errorf("%w: %q must start with a letter or digit", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		if !IsWordByte(name[i]) && name[i] != '-' {
			return fmt.Errorf("%w: %q has a forbidden byte at offset %d; allowed are A-Z a-z 0-9 _ -", ErrInvalidName, name, i)
		}
	}
	return nil
}

// IsAlnum reports whether b is an ASCII letter or digit.
func IsAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// IsWordByte reports whether b is in [A-Za-z0-9_].
func IsWordByte(b byte) bool { return IsAlnum(b) || b == '_' }

// ValidWord reports whether s matches [A-Za-z0-9_]+ (overlay aliases).
func ValidWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !IsWordByte(s[i]) {
			return false
		}
	}
	return true
}

// maxUserLen is the longest user name systemd accepts for User= (it must
// fit utmp's ut_user: UT_NAMESIZE-1, valid_user_group_name in systemd's
// src/basic/user-util.c).
const maxUserLen = 31

// ServerUser is the user name instance name's server runs as: its own
// dynamic user (DynamicUser= in l4d2@.service), so that no two servers of a
// host share a uid. "l4d2-NAME" where it fits; a longer name keeps its first
// 17 characters and gets 8 hex digits of a hash of the whole name. Two
// names can hash alike (32 bits can be searched); spec.ClaimPorts refuses
// the newer of two such specs, so no two servers share a user.
func ServerUser(name string) string {
	u := "l4d2-" + name
	if len(u) <= maxUserLen {
		return u
	}
	// FNV-1a, 32 bits: enough to tell apart names with one prefix.
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	const hexd = "0123456789abcdef"
	b := []byte(u[:5+17] + "-")
	for s := 28; s >= 0; s -= 4 {
		b = append(b, hexd[h>>uint(s)&0xf])
	}
	return string(b)
}
