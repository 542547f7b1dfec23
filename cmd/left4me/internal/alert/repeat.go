package alert

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/left4me/left4me/prestart/fsat"
)

// DefaultRepeatAfter is how long the same alert is held back after it
// went out: a server whose start is refused is retried for as long as the
// cause lasts (1, 2, 4 … 30 minutes apart), and each retry fails anew.
// Four hours is Alertmanager's default repeat_interval
// (prometheus/alertmanager, config/config.go, DefaultRouteOpts).
const DefaultRepeatAfter = 4 * time.Hour

// DefaultHoldDir keeps what went out when: on /run, so a reboot, itself
// worth an alert, starts afresh.
const DefaultHoldDir = "/run/left4me/alerts"

// Hold holds back an event that is the same as one sent less than Every
// ago: same kind, instance, summary and detail (the host and time aside).
// Its records are one small file per such event in Dir (root's).
type Hold struct {
	Dir   string
	Every time.Duration
	Now   func() time.Time
}

// Sent is what Hold knows of the last time an event went out.
type Sent struct {
	At   time.Time `json:"at"`   // when it went out
	Held int       `json:"held"` // how many like it were held back since
}

// Check says whether ev is to be held back (counting it if so) and what
// was recorded of it; key names its record for Record.
func (h Hold) Check(ev Event) (hold bool, last Sent, key string, err error) {
	key = eventKey(ev)
	b, err := readRecord(filepath.Join(h.Dir, key))
	if errors.Is(err, fs.ErrNotExist) {
		return false, Sent{}, key, nil
	}
	if err != nil {
		return false, Sent{}, key, fmt.Errorf("read %s: %w", filepath.Join(h.Dir, key), err)
	}
	if json.Unmarshal(b, &last) != nil || last.At.IsZero() {
		return false, Sent{}, key, nil // torn or foreign: send
	}
	since := h.Now().Sub(last.At)
	if since < 0 || since >= h.Every {
		return false, last, key, nil
	}
	last.Held++
	return true, last, key, h.write(key, last)
}

// Record notes that the event of key went out now.
func (h Hold) Record(key string) error {
	return h.write(key, Sent{At: h.Now().UTC()})
}

func (h Hold) write(key string, s Sent) error {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return err
	}
	b, _ := json.Marshal(s)
	return fsat.WriteFile(filepath.Join(h.Dir, key), b, fsat.WriteOptions{Perm: 0o600})
}

// readRecord reads a record, never through a link, at most 4 KiB.
func readRecord(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 4096))
}

// eventKey is a file name for what makes two events the same.
func eventKey(ev Event) string {
	h := sha256.New()
	for _, s := range []string{ev.Kind, ev.Instance, ev.Summary, ev.Detail} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
