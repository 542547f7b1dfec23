// Package hostinfo reads what every benchmark report states about the
// machine it ran on.
package hostinfo

import (
	"os"
	"strings"
)

// LoadAvg is the 1, 5 and 15 minute load averages (/proc/loadavg), or "?".
func LoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
