// Package mountinfo reads the kernel's mount table (/proc/self/mountinfo,
// proc(5)) for the CLI, which checks that an instance is unmounted before
// it removes anything, and for the test harness, which cleans up after
// containers. The helpers do not need it: they test one path with statx.
package mountinfo

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Self is this process's mount table.
const Self = "/proc/self/mountinfo"

// Mount is one line of the table, its paths unescaped.
type Mount struct {
	Root, Point, FSType, Source, SuperOpts string
}

// Read parses the table at path.
func Read(path string) ([]Mount, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	return Parse(string(data)), nil
}

// Parse reads the lines "ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] -
// FSTYPE SOURCE SUPEROPTS"; malformed lines are skipped.
func Parse(text string) []Mount {
	var ms []Mount
	for _, line := range strings.Split(text, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		ms = append(ms, Mount{unescape(f[3]), unescape(f[4]), g[0], unescape(g[1]), g[2]})
	}
	return ms
}

// Under lists the mount points below dir, and dir itself if includeSelf,
// in table order (a stacked mount appears once per layer).
func Under(ms []Mount, dir string, includeSelf bool) []string {
	dir = filepath.Clean(dir)
	var pts []string
	for _, m := range ms {
		if (includeSelf && m.Point == dir) || strings.HasPrefix(m.Point, dir+"/") {
			pts = append(pts, m.Point)
		}
	}
	return pts
}

// unescape undoes the kernel's octal escapes of space, tab, newline and
// backslash (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
