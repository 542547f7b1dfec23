package layout

import "strings"

// CompareNames orders instance names as people count: s2 before s10
// (runs of digits by their value, the rest bytewise), for lists an
// operator reads. A tie (s01, s1) falls back to bytewise order.
func CompareNames(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		dx, dy := digits(x), digits(y)
		if dx > 0 && dy > 0 {
			nx, ny := strings.TrimLeft(x[:dx], "0"), strings.TrimLeft(y[:dy], "0")
			if len(nx) != len(ny) {
				return sign(len(nx) - len(ny))
			}
			if c := strings.Compare(nx, ny); c != 0 {
				return c
			}
			x, y = x[dx:], y[dy:]
			continue
		}
		if x[0] != y[0] {
			return sign(int(x[0]) - int(y[0]))
		}
		x, y = x[1:], y[1:]
	}
	if c := sign(len(x) - len(y)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// digits is the length of the run of ASCII digits s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
