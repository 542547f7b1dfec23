package servers

import (
	"time"

	"github.com/left4me/left4me/prestart"
	"github.com/left4me/left4me/prestart/rundir"
	"github.com/left4me/left4me/spec/layout"
)

// diskUse is what an instance's upper layer and crash dumps held when
// last measured: by its last start or left4me-disk.timer (every minute
// while it runs), which record it in runtime/NAME/usage. list and status
// read that record rather than walk every upper layer again.
type diskUse struct {
	Bytes      int64     `json:"bytes"`
	MeasuredAt time.Time `json:"measured_at"`
	// Ceiling is what its spec (or limits.yaml) lets it hold, 0 unknown;
	// Over: more than that, so its next start is refused (status only).
	Ceiling int64 `json:"ceiling,omitempty"`
	Over    bool  `json:"over,omitempty"`
}

// diskOf is instance name's last measure, nil without one (never
// started, or runtime/NAME unreadable: it is root's).
func diskOf(l layout.Layout, name string) *diskUse {
	n, at, ok := rundir.Of(l, name).ReadUsage()
	if !ok {
		return nil
	}
	return &diskUse{Bytes: n, MeasuredAt: at}
}

// text is the measure for a table cell: "1.5 GiB", or "-".
func (d *diskUse) text() string {
	if d == nil {
		return "-"
	}
	return prestart.Size(d.Bytes)
}
